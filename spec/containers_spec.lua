-- API.md section 3: lists, dicts, tuples, instances behave like Lua tables.
local S = require "spec.support"
local gc = S.gc

describe("lists", function()
  before_each(S.reset)
  after_each(S.verify)

  it("are made from a sequence and read 1-based; out of range gives nil", function()
    local l = gc.new_list{10, 20, 30}
    assert.are.equal(3, #l)
    assert.are.equal(10, l[1])
    assert.are.equal(30, l[3])
    assert.is_nil(l[0])
    assert.is_nil(l[4])
    assert.is_nil(l.foo)
    assert.are.equal(0, #gc.new_list())
    assert.are.equal(2, #gc.new_list(gc.new_list{1, 2}))
  end)

  it("assign in range, append at #l+1, remove the last with nil", function()
    local l = gc.new_list{1, 2, 3}
    l[2] = "b"
    assert.are.equal("b", l[2])
    l[#l + 1] = 4
    assert.are.equal(4, #l)
    l[#l] = nil
    assert.are.equal(3, #l)
    l[10] = nil -- nothing there: nothing happens
    l[0] = nil
    assert.are.equal(3, #l)
    assert.has_error(function() l[5] = 1 end, "list assignment index out of range")
    assert.has_error(function() l[0] = 1 end, "list assignment index out of range")
    assert.has_error(function() l[1] = nil end, "list assignment index out of range")
    assert.has_error(function() l.x = 1 end, "list indices must be integers, not string")
    l[2.0] = "two"
    assert.are.equal("two", l[2])
  end)

  it("iterate with ipairs and pairs", function()
    local l = gc.new_list{"a", "b", "c"}
    local seen = {}
    for i, v in ipairs(l) do seen[#seen + 1] = i .. v end
    assert.are.same({ "1a", "2b", "3c" }, seen)
    seen = {}
    for i, v in pairs(l) do seen[#seen + 1] = i .. v end
    assert.are.same({ "1a", "2b", "3c" }, seen)
  end)

  it("work with Lua's table library", function()
    local l = gc.new_list{3, 1, 2}
    table.insert(l, 4)
    table.insert(l, 1, 0)
    assert.are.equal("[0, 3, 1, 2, 4]", tostring(l))
    assert.are.equal(0, table.remove(l, 1))
    assert.are.equal(4, table.remove(l))
    table.sort(l)
    assert.are.equal("1,2,3", table.concat(l, ","))
    assert.are.same({ 1, 2, 3 }, { table.unpack(l) })
    local dst = gc.new_list{9, 9, 9, 9}
    table.move(l, 1, 3, 2, dst)
    assert.are.equal("[9, 1, 2, 3]", tostring(dst))
  end)

  it("print as Python's repr, self-reference as [...]", function()
    local l = gc.new_list{1, 2.5, "a", gc.None, true}
    l[#l + 1] = l
    assert.are.equal("[1, 2.5, 'a', None, True, [...]]", tostring(l))
    assert.are.equal("[1.0, 1e+16, 0.1, -0.0, \"it's\", 'a\\nb']",
      tostring(gc.new_list{1.0, 1e16, 0.1, -0.0, "it's", "a\nb"}))
  end)

  it("print nesting of any depth without overflowing", function()
    local n = S.n(200000)
    local head = gc.new_list()
    local cur = head
    for _ = 1, n do
      local nx = gc.new_list()
      cur[1] = nx
      cur = nx
    end
    cur = nil
    local s = tostring(head)
    assert.are.equal(2 * (n + 1), #s)
    assert.are.equal("[[[", s:sub(1, 3))
  end)
end)

describe("dicts", function()
  before_each(S.reset)
  after_each(S.verify)

  it("read, write, delete and count entries", function()
    local d = gc.new_dict{a = 1}
    assert.are.equal(1, d.a)
    assert.is_nil(d.missing)
    d.b = 2
    assert.are.equal(2, #d)
    d.a = nil
    assert.are.equal(1, #d)
    assert.is_nil(d.a)
    d.nothing = nil -- deleting a missing key is fine
  end)

  it("iterate in insertion order", function()
    local d = gc.new_dict()
    for i = 1, 20 do d["k" .. i] = i end
    d.k5 = nil
    d.k5 = 5
    local keys = {}
    for k in pairs(d) do keys[#keys + 1] = k end
    local expect = {}
    for i = 1, 20 do if i ~= 5 then expect[#expect + 1] = "k" .. i end end
    expect[#expect + 1] = "k5"
    assert.are.same(expect, keys)
  end)

  it("treat equal numbers as one key and keep the first key", function()
    local d = gc.new_dict()
    d[1] = "a"
    d[true] = "b"
    d[1.0] = "c"
    assert.are.equal(1, #d)
    assert.are.equal("{1: 'c'}", tostring(d))
    assert.are.equal("c", d[true])
    d[2.5] = "x"
    assert.are.equal("x", d[2.5])
  end)

  it("accept None, tuples and instances as keys; refuse lists, dicts and NaN", function()
    local d = gc.new_dict()
    d[gc.None] = 1
    local t = gc.new_tuple{1, "a"}
    d[t] = 2
    assert.are.equal(2, d[gc.new_tuple{1.0, "a"}])
    local C = gc.class("C")
    local o = C()
    d[o] = 3
    assert.are.equal(3, d[o])
    assert.is_nil(d[C()])
    assert.has_error(function() d[gc.new_list()] = 1 end, "unhashable type: 'list'")
    assert.has_error(function() d[gc.new_dict()] = 1 end, "unhashable type: 'dict'")
    assert.has_error(function() d[gc.new_tuple{1, gc.new_list()}] = 1 end, "unhashable type: 'list'")
    assert.has_error(function() d[0 / 0] = 1 end, "pygc: NaN cannot be a dict key")
    assert.has_error(function() return d[0 / 0] end, "pygc: NaN cannot be a dict key")
  end)

  it("raise when keys are added or removed during pairs", function()
    local d = gc.new_dict{a = 1, b = 2, c = 3}
    assert.has_error(function()
      for k in pairs(d) do d[k .. "x"] = 1 end
    end, "dict changed size during iteration")
    local d2 = gc.new_dict{a = 1, b = 2}
    assert.has_error(function()
      for k in pairs(d2) do d2[k] = nil end
    end, "dict changed size during iteration")
    local d3 = gc.new_dict{a = 1, b = 2}
    for k in pairs(d3) do d3[k] = 10 end -- changing values is fine
    assert.are.equal(10, d3.a)
  end)

  it("print as Python's repr, self-reference as {...}", function()
    local d = gc.new_dict()
    d.a = 1
    d.me = d
    assert.are.equal("{'a': 1, 'me': {...}}", tostring(d))
    assert.are.equal("{}", tostring(gc.new_dict()))
  end)
end)

describe("tuples", function()
  before_each(S.reset)
  after_each(S.verify)

  it("read, count and iterate; are immutable", function()
    local t = gc.new_tuple{1, "two", 3.0}
    assert.are.equal(3, #t)
    assert.are.equal("two", t[2])
    assert.is_nil(t[4])
    local n = 0
    for _ in ipairs(t) do n = n + 1 end
    assert.are.equal(3, n)
    n = 0
    for _ in pairs(t) do n = n + 1 end
    assert.are.equal(3, n)
    assert.has_error(function() t[1] = 5 end, "tuple is immutable")
  end)

  it("print as Python does", function()
    assert.are.equal("(1,)", tostring(gc.new_tuple{1}))
    assert.are.equal("()", tostring(gc.new_tuple()))
    assert.are.equal("(1, 'a', None)", tostring(gc.new_tuple{1, "a", gc.None}))
    local l = gc.new_list()
    local t = gc.new_tuple{l}
    l[1] = t
    assert.are.equal("([(...)],)", tostring(t))
  end)
end)

describe("classes and instances", function()
  before_each(S.reset)
  after_each(S.verify)

  it("make instances with attributes that read, write and delete", function()
    local Node = gc.class("Node")
    local n = Node{ name = "a", weight = 2 }
    assert.are.equal("a", n.name)
    n.name = "b"
    assert.are.equal("b", n.name)
    n.weight = nil
    assert.is_nil(n.weight)
    assert.is_nil(n.missing)
    assert.has_error(function() n[1] = 2 end, "attribute name must be string, not 'number'")
    assert.has_error(function() return #n end, "object of type 'Node' has no len()")
  end)

  it("iterate attributes with pairs", function()
    local C = gc.class("C")
    local o = C()
    o.x = 1; o.y = 2
    local seen = {}
    for k, v in pairs(o) do seen[k] = v end
    assert.are.same({ x = 1, y = 2 }, seen)
  end)

  it("print as <Name object at 0x...>", function()
    local Node = gc.class("Node")
    assert.matches("^<Node object at 0x%x+>$", tostring(Node()))
    assert.are.equal("<class 'Node'>", tostring(Node))
  end)

  it("find class attributes and methods from the spec", function()
    local P = gc.class("P", { kind = "point", norm = function(self) return self.x + self.y end })
    local p = P{ x = 1, y = 2 }
    assert.are.equal(3, p:norm())
    assert.are.equal("point", p.kind)
    p.kind = "mine"
    assert.are.equal("mine", p.kind)
  end)

  it("run __init with the constructor's arguments", function()
    local V = gc.class("V", { __init = function(self, x, y) self.x = x; self.y = y end })
    local v = V(3, 4)
    assert.are.equal(3, v.x)
    assert.are.equal(4, v.y)
  end)

  it("run __del once when the last reference goes", function()
    local calls = {}
    local C = gc.class("C", { __del = function(self) calls[#calls + 1] = self.name end })
    local o = C{ name = "x" }
    gc.release(o)
    assert.are.same({ "x" }, calls)
  end)

  it("run __del once for objects in cyclic garbage, then free them", function()
    local calls = 0
    local C = gc.class("C", { __del = function() calls = calls + 1 end })
    local a, b = C(), C()
    a.other = b; b.other = a
    a, b = nil, nil
    assert.are.equal(2, S.collect_all())
    assert.are.equal(2, calls)
    assert.are.equal(0, gc.collect())
  end)

  it("let a finalizer resurrect its object by storing it; __del never runs twice", function()
    local saved = gc.new_list()
    local calls = 0
    local C = gc.class("C", { __del = function(self) calls = calls + 1; saved[#saved + 1] = self end })
    local a = C()
    a.me = a
    a = nil
    S.collect_all()
    assert.are.equal(1, calls)
    assert.are.equal(1, #saved)
    local back = saved[1]
    assert.is_true(gc.is_finalized(back))
    assert.is_true(rawequal(back, back.me))
    back = nil
    saved[1] = nil
    S.collect_all()
    assert.are.equal(1, calls)
  end)

  it("invalidate a self kept in a Lua variable once the object dies", function()
    local kept
    local C = gc.class("C", { __del = function(self) kept = self end })
    gc.release(C())
    assert.is_not_nil(kept)
    assert.has_error(function() return kept.x end, "pygc: use of a released handle")
  end)

  it("make legacy instances in cycles uncollectable and put them in gc.garbage", function()
    local L = gc.class("L", { legacy = true, __del = function() error("must not run") end })
    local a = L()
    local l = gc.new_list{a}
    a.l = l
    a, l = nil, nil
    assert.are.equal(2, S.collect_all())
    assert.are.equal(1, #gc.garbage)
    assert.are.equal("L", gc.type(gc.garbage[1]))
    assert.are.equal(2, gc.get_stats()[3].uncollectable)
  end)

  it("run a legacy instance's __del when dropped by refcount", function()
    local ran = false
    local L = gc.class("L", { legacy = true, __del = function() ran = true end })
    gc.release(L())
    assert.is_true(ran)
  end)

  it("report finalizer errors through gc.unraisablehook, never to the caller", function()
    local C = gc.class("Bad", { __del = function() error("boom") end })
    local reports = S.capture_unraisable(function()
      local a = C()
      a.me = a
      a = nil
      S.collect_all()
      gc.release(C())
    end)
    assert.are.equal(2, #reports)
    assert.matches("boom", reports[1].err)
    assert.are.equal("finalizer of Bad", reports[1].what)
  end)

  it("warn by default, starting 'pygc: exception ignored in'", function()
    local out = S.run_lua([[
      local gc = require "pygc"
      local C = gc.class("Bad", { __del = function() error("boom") end })
      gc.release(C())
      print("still running")
    ]])
    assert.matches("pygc: exception ignored in finalizer of Bad: .*boom", out)
    assert.matches("still running", out)
  end)

  it("validate the spec", function()
    assert.has_error(function() gc.class("X", { __del = 5 }) end, "bad argument #2 to 'class' (__del must be a function)")
    assert.has_error(function() gc.class() end)
    assert.has_error(function() gc.new_list()() end, "'list' object is not callable")
  end)
end)
