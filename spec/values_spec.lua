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

  it("storing a Lua table, function, coroutine or foreign userdata raises naming the type", function()
    local l = gc.new_list()
    assert.has_error(function() l[1] = {} end, "pygc: cannot store a Lua table in a pygc list")
    assert.has_error(function() l[1] = print end, "pygc: cannot store a Lua function in a pygc list")
    assert.has_error(function() l[1] = coroutine.create(print) end, "pygc: cannot store a Lua coroutine in a pygc list")
    assert.has_error(function() l[1] = io.stdout end, "pygc: cannot store a foreign userdata in a pygc list")
    local d = gc.new_dict()
    assert.has_error(function() d.x = {} end, "pygc: cannot store a Lua table in a pygc dict")
    local C = gc.class("C")
    local o = C()
    assert.has_error(function() o.x = print end, "pygc: cannot store a Lua function in a pygc instance")
    assert.has_error(function() gc.new_tuple{{}} end, "pygc: cannot store a Lua table in a pygc tuple")
    assert.are.equal(0, #l)
  end)

  it("None is a singleton that prints as None", function()
    assert.are.equal("None", tostring(gc.None))
    assert.is_true(rawequal(gc.None, gc.new_list{gc.None}[1]))
  end)
end)
