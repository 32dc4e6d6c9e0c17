-- API.md section 2: values.
local S = require "spec.support"
local gc = S.gc

describe("values", function()
  before_each(S.reset)
  after_each(S.verify)

  it("round-trip None, booleans, integers, floats and strings", function()
    local l = gc.new_list{gc.None, true, false, 42, -7, 2.5, "héllo", "", math.maxinteger, math.mininteger}
    assert.are.equal(gc.None, l[1])
    assert.are.equal(true, l[2])
    assert.are.equal(false, l[3])
    assert.are.equal(42, l[4])
    assert.is_true(math.type(l[4]) == "integer")
    assert.are.equal(-7, l[5])
    assert.are.equal(2.5, l[6])
    assert.is_true(math.type(l[6]) == "float")
    assert.are.equal("héllo", l[7])
    assert.are.equal("", l[8])
    assert.are.equal(math.maxinteger, l[9])
    assert.are.equal(math.mininteger, l[10])
  end)

  it("strings are copied into the heap and shared", function()
    local s = string.rep("x", 10) .. "y"
    local l = gc.new_list{s, s}
    assert.are.equal(s, l[1])
    local refs = gc.get_referents(l)
    assert.are.equal(2, #refs)
  end)

  it("nil is the one Lua value no container holds", function()
    local l = gc.new_list()
    assert.has_error(function() gc.new_list { 1, nil, 3, n = 3 } [3] = nil end)
    assert.has_error(function() l[1] = nil; gc.new_tuple(setmetatable({}, { __len = function() return 1 end })) end,
      "pygc: cannot store a nil in a pygc tuple")
    local C = gc.class("C")
    local o = C()
    o.x = nil -- deletes, as in Python's del
    assert.are.equal(0, #l)
  end)

  it("None is a singleton that prints as None", function()
    assert.are.equal("None", tostring(gc.None))
    assert.is_true(rawequal(gc.None, gc.new_list{gc.None}[1]))
  end)
end)
