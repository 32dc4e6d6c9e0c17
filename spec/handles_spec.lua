-- API.md section 1: the heap and its handles.
local S = require "spec.support"
local gc = S.gc

describe("the heap and its handles", function()
  before_each(S.reset)
  after_each(S.verify)

  it("requiring again in the same state returns the same module and heap", function()
    package.loaded.pygc = nil
    local again = require "pygc"
    assert.are.equal(gc, again)
    local l = gc.new_list{1}
    assert.are.equal(1, again.refcount(l))
  end)

  it("each lua_State gets its own heap, and lua_close frees it", function()
    local out, ok = S.run_lua([[
      local gc = require "pygc"
      local l = gc.new_list{1, 2}
      l[3] = l
      print(gc.heap_info().objects >= 2, gc.refcount(l))
    ]])
    assert.is_true(ok, out)
    assert.matches("true\t2", out)
  end)

  it("a handle owns one reference", function()
    local l = gc.new_list()
    assert.are.equal(1, gc.refcount(l))
    local outer = gc.new_list{l}
    assert.are.equal(2, gc.refcount(l))
    gc.release(outer)
    assert.are.equal(1, gc.refcount(l))
  end)

  it("gc.release drops the reference now and the object dies", function()
    local freed = 0
    local C = gc.class("C", { __del = function() freed = freed + 1 end })
    local o = C()
    gc.release(o)
    assert.are.equal(1, freed)
  end)

  it("use of a released handle raises", function()
    local l = gc.new_list{1}
    gc.release(l)
    assert.has_error(function() return l[1] end, "pygc: use of a released handle")
    assert.has_error(function() l[1] = 2 end, "pygc: use of a released handle")
    assert.has_error(function() return #l end, "pygc: use of a released handle")
    assert.has_error(function() gc.refcount(l) end, "pygc: use of a released handle")
    assert.has_error(function() gc.new_list{l} end, "pygc: use of a released handle")
  end)

  it("releasing or closing twice does nothing", function()
    local l = gc.new_list()
    gc.release(l)
    gc.release(l)
    assert.has_no.errors(function() debug.getmetatable(l).__close(l) end)
  end)

  it("a to-be-closed handle releases at the end of its scope", function()
    local freed = false
    local C = gc.class("C", { __del = function() freed = true end })
    do
      local o <close> = C() -- luacheck: ignore (closed at the end of the block)
      assert.is_false(freed)
    end
    assert.is_true(freed)
  end)

  it("Lua's collector releases a dropped handle", function()
    local freed = false
    local C = gc.class("C", { __del = function() freed = true end })
    local o = C() -- luacheck: ignore (dropped at once)
    o = nil
    collectgarbage(); collectgarbage()
    assert.is_true(freed)
  end)

  it("every path to an object yields the same userdata while a handle lives", function()
    local inner = gc.new_list()
    local outer = gc.new_list{inner}
    local d = gc.new_dict{k = inner}
    assert.is_true(rawequal(inner, outer[1]))
    assert.is_true(rawequal(inner, d.k))
    assert.is_true(rawequal(inner, gc.get_referents(outer)[1]))
    local t = {}
    t[inner] = "yes"
    assert.are.equal("yes", t[outer[1]])
  end)

  it("gc.id is an integer stable for the object's life", function()
    local l = gc.new_list()
    local outer = gc.new_list{l}
    local id = gc.id(l)
    assert.is_true(math.type(id) == "integer")
    l = nil
    collectgarbage(); collectgarbage()
    assert.are.equal(id, gc.id(outer[1]))
    assert.has_error(function() gc.id(5) end)
  end)

  it("gc.type names values and objects as Python does", function()
    assert.are.equal("NoneType", gc.type(gc.None))
    assert.are.equal("bool", gc.type(true))
    assert.are.equal("int", gc.type(3))
    assert.are.equal("float", gc.type(3.5))
    assert.are.equal("str", gc.type("x"))
    assert.are.equal("list", gc.type(gc.new_list()))
    assert.are.equal("dict", gc.type(gc.new_dict()))
    assert.are.equal("tuple", gc.type(gc.new_tuple()))
    local Node = gc.class("Node")
    assert.are.equal("Node", gc.type(Node()))
    assert.are.equal("type", gc.type(Node))
    assert.are.equal("Lua table", gc.type({}))
    assert.are.equal("Lua function", gc.type(print))
    assert.are.equal("Lua coroutine", gc.type(coroutine.create(print)))
    assert.are.equal("Lua userdata", gc.type(io.stdout))
    assert.has_error(function() gc.type(nil) end, "bad argument #1 to 'type' (pygc value expected, got nil)")
  end)

  it("handles work in coroutines", function()
    local co = coroutine.wrap(function()
      local l = gc.new_list{1}
      coroutine.yield(l)
      l[2] = 2
      return l
    end)
    local l = co()
    assert.are.equal(1, #l)
    assert.is_true(rawequal(l, co()))
    assert.are.equal(2, #l)
  end)
end)
