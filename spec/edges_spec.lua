-- gc._edges: the core's one visitor per type, labelled, as the toolkit sees it.
local support = require "spec.support"
local gc = support.gc

describe("gc._edges", function()
  before_each(support.reset)
  after_each(support.verify)

  local function edges(o, kinds)
    local ch, lab, k = gc._edges(o, kinds)
    local out = {}
    for i = 1, #ch do out[#out + 1] = { ch[i], lab[i], k[i] } end
    return out
  end

  it("labels list items by 1-based index and skips atomic values by default", function()
    local t = {}
    local l = gc.new_list { 1, t, "x" }
    local e = edges(l)
    assert.are.equal(2, #e)
    assert.is_true(rawequal(t, e[1][1])); assert.are.equal("[2]", e[1][2]); assert.are.equal(1, e[1][3])
    assert.are.equal("x", e[2][1]); assert.are.equal("[3]", e[2][2])
    assert.are.equal(3, #edges(l, 7)) -- with atomic values
  end)

  it("labels dict values by their key's repr, and keys as <key>", function()
    local inner = gc.new_list()
    local d = gc.new_dict { k = inner }
    local e = edges(d)
    assert.are.equal("<key>", e[1][2])
    assert.is_true(rawequal(inner, e[2][1]))
    assert.are.equal("['k']", e[2][2])
  end)

  it("labels attributes by name; the class is a cycle edge, attribute names are owned edges", function()
    local C = gc.class("C")
    local o = C()
    o.me = o
    local cycle = edges(o, 1)
    assert.are.equal(2, #cycle)
    assert.are.equal("__class__", cycle[1][2])
    assert.is_true(rawequal(C, cycle[1][1]))
    assert.are.equal(".me", cycle[2][2])
    assert.is_true(rawequal(o, cycle[2][1]))
    local owned = edges(o, 2)
    assert.are.equal(1, #owned) -- the name "me"
    for _, e in ipairs(owned) do assert.are_not.equal("__class__", e[2]) end
  end)

  it("refuses bad arguments in luaL_argerror wording", function()
    assert.has_error(function() gc._edges({}) end)
    assert.has_error(function() gc._edges(gc.new_list(), 9) end, "bad argument #2 to '_edges' (kinds must be in 1..7)")
    local l = gc.new_list(); gc.release(l)
    assert.has_error(function() gc._edges(l) end, "pygc: use of a released handle")
  end)
end)
