-- luacheck: globals LEAK_FOR_SPEC
-- require "pygc.weakref": Python's weakref module, and util.assert_freed.
-- CPython's behaviour is checked line by line in
-- spec/conformance/weak_scenarios.*; these are the Lua-side contracts.
local S = require "spec.support"
local gc = S.gc
local weakref = require "pygc.weakref"
local util = require "pygc.util"

local Node = gc.class("Node")

describe("pygc.weakref", function()
  before_each(S.reset)
  after_each(function() S.verify() end)

  describe("ref", function()
    it("is a tracked pygc object that gives the referent back, then nil", function()
      local o = Node()
      local r = weakref.ref(o)
      assert.equal("weakref", gc.type(r))
      assert.is_true(gc.is_tracked(r))
      assert.is_true(rawequal(r(), o))
      S.verify()
      gc.release(o)
      assert.is_nil(r())
      S.verify()
    end)

    it("prints as CPython's: the referent's type and address, a class's name, or dead", function()
      local o = Node()
      local r = weakref.ref(o)
      assert.matches("^<weakref at 0x%x+; to 'Node' at 0x%x+>$", tostring(r))
      local K = gc.class("K")
      local rk = weakref.ref(K)
      assert.matches("^<weakref at 0x%x+; to 'type' at 0x%x+ %(K%)>$", tostring(rk))
      gc.release(o)
      assert.matches("^<weakref at 0x%x+; dead>$", tostring(r))
      S.verify()
    end)

    it("is shared without a callback, distinct with one", function()
      local o = Node()
      assert.is_true(rawequal(weakref.ref(o), weakref.ref(o)))
      assert.is_false(rawequal(weakref.ref(o, function() end), weakref.ref(o)))
    end)

    it("accepts instances, lists and dicts; refuses tuples, strings, numbers and weakrefs", function()
      for _, v in ipairs { Node(), gc.new_list(), gc.new_dict() } do assert.is_not_nil(weakref.ref(v)) end
      assert.has_error(function() weakref.ref(gc.new_tuple { 1 }) end, "cannot create weak reference to 'tuple' object")
      assert.has_error(function() weakref.ref("s") end, "cannot create weak reference to 'str' object")
      assert.has_error(function() weakref.ref(1) end, "cannot create weak reference to 'int' object")
      assert.has_error(function() weakref.ref({}) end, "cannot create weak reference to 'Lua table' object")
      assert.has_error(function() weakref.ref(weakref.ref(Node())) end,
        "cannot create weak reference to 'weakref.ReferenceType' object")
      assert.has_error(function() weakref.ref(nil) end, "cannot create weak reference to 'nil' object")
    end)

    it("wants a callable callback", function()
      local ok, err = pcall(weakref.ref, Node(), 5)
      assert.is_false(ok)
      assert.matches("bad argument #2 to '.-ref' %(callable expected, got number%)", err)
      assert.is_not_nil(weakref.ref(Node(), setmetatable({}, { __call = function() end })))
      assert.is_not_nil(weakref.ref(Node(), gc.None))
    end)

    it("refuses a released handle", function()
      local o = Node()
      gc.release(o)
      assert.has_error(function() weakref.ref(o) end, "pygc: use of a released handle")
    end)

    it("takes no arguments when called", function()
      local r = weakref.ref(Node())
      assert.has_error(function() r(1) end, "weakref() takes no arguments")
    end)

    it("runs the callback once with the weakref, newest first, errors reported", function()
      local o = Node()
      local order = {}
      local keep = {}
      for i = 1, 3 do keep[i] = weakref.ref(o, function(w) order[#order + 1] = i; assert(w() == nil) end) end
      local bad = weakref.ref(o, function() error("boom") end)
      local reports = S.capture_unraisable(function() gc.release(o) end)
      assert.same({ 3, 2, 1 }, order)
      assert.equal(1, #reports)
      assert.matches("boom", reports[1].err)
      assert.equal("weakref callback", reports[1].what)
      assert.equal(bad, bad)
    end)

    it("clears weakrefs to cyclic garbage before finalizers run, and counts garbage weakrefs", function()
      local seen
      local r
      local D = gc.class("D", { __del = function() seen = r() end })
      local o = D()
      o.me = o
      o.wr = weakref.ref(o, function() error("must not run: garbage weakref") end)
      r = weakref.ref(o)
      gc.release(o)
      -- the instance, its garbage weakref, and the lref holding that weakref's Lua callback
      assert.equal(3, S.collect_all())
      assert.is_nil(seen)
      assert.is_nil(r())
    end)

    it("follows the rules in the incremental collector and with freeze", function()
      gc.set_mode("incremental")
      local a = gc.new_list(); a[1] = a
      local called = 0
      local r = weakref.ref(a, function() called = called + 1 end)
      gc.freeze()
      gc.release(a)
      assert.equal(0, S.collect_all())
      assert.equal(0, called)
      gc.unfreeze()
      assert.equal(1, S.collect_all())
      assert.equal(1, called)
      assert.is_nil(r())
    end)

    it("compares and hashes like its referent while alive", function()
      local o = Node()
      local r1, r2 = weakref.ref(o), weakref.ref(o, function() end)
      local r3 = weakref.ref(o, function() end)
      assert.is_true(r1 == r2)
      -- other handles keep Lua's identity
      assert.is_false(gc.new_tuple { 1 } == gc.new_tuple { 1 })
      local d = gc.new_dict()
      d[r1] = 1
      assert.equal(1, d[r2])
      gc.release(o)
      assert.is_false(r1 == r2)
      assert.equal(1, d[r1])
      assert.equal(1, d[r2] == nil and 1 or 0) -- hashed while alive: still hashable, equal to itself only
      assert.has_error(function() d[r3] = 1 end, "unhashable type: 'weakref'") -- never hashed
      assert.has_error(function() d[weakref.ref(gc.new_list())] = 1 end, "unhashable type: 'weakref'")
    end)
  end)

  describe("proxy", function()
    it("forwards indexing, length, pairs, calls and tostring", function()
      local o = Node()
      local p = weakref.proxy(o)
      assert.equal("weakproxy", gc.type(p))
      p.x = 1
      assert.equal(1, o.x)
      assert.equal(1, p.x)
      assert.equal(tostring(o), tostring(p))
      assert.is_true(p == o)
      local l = gc.new_list { 1, 2 }
      local pl = weakref.proxy(l)
      assert.equal(2, #pl)
      local n = 0
      for _ in pairs(pl) do n = n + 1 end
      assert.equal(2, n)
      local C = gc.class("C")
      local pc = weakref.proxy(C)
      assert.equal("C", gc.type(pc()))
      assert.has_error(function() gc.new_dict()[p] = 1 end, "unhashable type: 'weakproxy'")
    end)

    it("raises once the referent is gone, and calls its callback with the proxy", function()
      local o = Node()
      local got
      local p
      p = weakref.proxy(o, function(w) got = rawequal(w, p) end)
      gc.release(o)
      assert.is_true(got)
      for _, f in ipairs {
        function() return p.x end, function() p.x = 1 end, function() return #p end,
        function() return tostring(p) end, function() return p() end, function() return pairs(p) end,
      } do
        assert.has_error(f, "weakly-referenced object no longer exists")
      end
    end)
  end)

  describe("getweakrefcount and getweakrefs", function()
    it("count and list in CPython's order", function()
      local o = Node()
      assert.equal(0, weakref.getweakrefcount(o))
      assert.same({}, weakref.getweakrefs(o))
      local c1 = weakref.ref(o, function() end)
      local b = weakref.ref(o)
      local p = weakref.proxy(o)
      assert.equal(3, weakref.getweakrefcount(o))
      local l = weakref.getweakrefs(o)
      assert.is_true(rawequal(l[1], b) and rawequal(l[2], p) and rawequal(l[3], c1))
      assert.equal(0, weakref.getweakrefcount(5))
      assert.same({}, weakref.getweakrefs("s"))
      assert.has_error(function() weakref.getweakrefcount() end)
      assert.has_error(function() weakref.getweakrefs() end)
    end)
  end)

  describe("WeakValueDictionary", function()
    it("indexes like a dict and loses entries with their values", function()
      local d = weakref.WeakValueDictionary()
      local a, b = Node(), Node()
      d.a, d.b = a, b
      d[1] = b
      assert.equal(3, #d)
      assert.is_true(rawequal(d.a, a))
      gc.release(a)
      assert.equal(2, #d)
      assert.is_nil(d.a)
      d[1] = nil
      local keys = {}
      for k, v in pairs(d) do keys[#keys + 1] = k; assert.is_true(rawequal(v, b)) end
      assert.same({ "b" }, keys)
      assert.has_error(function() d.x = 5 end, "cannot create weak reference to 'int' object")
    end)

    it("drops cyclic values at a collection", function()
      local d = weakref.WeakValueDictionary()
      local o = Node(); o.me = o
      d.k = o
      gc.release(o)
      S.collect_all()
      assert.equal(0, #d)
    end)
  end)

  describe("WeakKeyDictionary", function()
    it("loses entries with their keys", function()
      local d = weakref.WeakKeyDictionary()
      local k1, k2 = Node(), Node()
      d[k1] = 1
      d[k2] = 2
      d[k2] = 3
      assert.equal(2, #d)
      assert.equal(3, d[k2])
      gc.release(k1)
      assert.equal(1, #d)
      for k, v in pairs(d) do assert.is_true(rawequal(k, k2)); assert.equal(3, v) end
      assert.is_nil(d.missing)
      d[k2] = nil
      assert.equal(0, #d)
      assert.has_error(function() d[gc.new_tuple { 1 }] = 1 end, "cannot create weak reference to 'tuple' object")
    end)
  end)

  describe("WeakSet", function()
    it("adds, discards, contains, counts and iterates live members", function()
      local s = weakref.WeakSet()
      local a, b = Node(), Node()
      s:add(a); s:add(b); s:add(a)
      assert.equal(2, #s)
      assert.is_true(s:contains(a))
      s:discard(b)
      assert.is_false(s:contains(b))
      assert.is_false(s:contains(5))
      s:discard(5)
      gc.release(a)
      assert.equal(0, #s)
      local c = Node()
      s:add(c)
      for x in pairs(s) do assert.is_true(rawequal(x, c)) end
      assert.has_error(function() s:remove(Node()) end)
      assert.has_error(function() s.x = 1 end)
      assert.has_error(function() s:add("str") end, "cannot create weak reference to 'str' object")
    end)
  end)

  describe("finalize", function()
    it("runs at most once: on death, or when called", function()
      local o = Node()
      local calls = {}
      local f = weakref.finalize(o, function(...) calls[#calls + 1] = { ... }; return "r" end, 1, 2)
      assert.is_true(f.alive)
      assert.is_true(f.atexit)
      f.atexit = false
      assert.is_false(f.atexit)
      local obj, fn, x, y = f:peek()
      assert.is_true(rawequal(obj, o))
      assert.equal("function", type(fn))
      assert.same({ 1, 2 }, { x, y })
      obj = nil
      assert.equal("r", f())
      assert.is_nil(f())
      assert.is_false(f.alive)
      gc.release(o)
      assert.equal(1, #calls)
      assert.is_nil(f:peek())
      assert.is_nil(f:detach())
    end)

    it("detach keeps it from running", function()
      local o = Node()
      local ran = false
      local f = weakref.finalize(o, function() ran = true end)
      local obj = f:detach()
      assert.is_true(rawequal(obj, o))
      assert.is_false(f.alive)
      gc.release(o)
      assert.is_false(ran)
    end)

    it("checks its arguments", function()
      assert.has_error(function() weakref.finalize(Node(), 5) end,
        "bad argument #2 to 'finalize' (callable expected, got number)")
      assert.has_error(function() weakref.finalize("s", print) end, "cannot create weak reference to 'str' object")
      local f = weakref.finalize(Node(), print)
      assert.has_error(function() f.other = 1 end)
      f:detach()
    end)

    it("runs the live ones with atexit at lua_close, newest first, before the heap goes", function()
      local out = S.run_lua([[
        local gc = require "pygc"
        local weakref = require "pygc.weakref"
        local N = gc.class("N")
        local a, b, c = N(), N(), N()
        weakref.finalize(a, function(x) print("exit", x, gc.type(a)) end, "a")
        local f = weakref.finalize(b, print, "never")
        f.atexit = false
        weakref.finalize(c, function(x) print("exit", x) end, "c")
      ]])
      assert.equal("exit\tc\nexit\ta\tN\n", out)
    end)
  end)

  describe("at lua_close", function()
    it("warns when gc.garbage is not empty, listing them under DEBUG_UNCOLLECTABLE", function()
      local code = [[
        local gc = require "pygc"
        local L = gc.class("L", { legacy = true })
        local o = L(); o.me = o; gc.release(o)
        gc.collect()
        DEBUG
      ]]
      local out = S.run_lua((code:gsub("DEBUG", "")))
      assert.matches("pygc: gc: 1 uncollectable objects at shutdown; use gc.set_debug%(gc.DEBUG_UNCOLLECTABLE%)", out)
      out = S.run_lua((code:gsub("DEBUG", "gc.set_debug(gc.DEBUG_UNCOLLECTABLE)")))
      assert.matches("pygc: gc: 1 uncollectable objects at shutdown: <L object at 0x%x+>", out)
      out = S.run_lua([[ local gc = require "pygc"; local l = gc.new_list(); l[1] = l ]])
      assert.equal("", out)
    end)
  end)
end)

describe("util.assert_freed", function()
  before_each(S.reset)
  after_each(function() S.verify() end)

  it("passes when what fn made is freed, cycles included", function()
    assert.is_true(util.assert_freed(function()
      local a = gc.new_list(); a[1] = a
      local n = Node(); n.me = n
      return a
    end))
  end)

  it("names what is still alive with why_alive's chain", function()
    local ok, err = pcall(util.assert_freed, function() LEAK_FOR_SPEC = gc.new_list { gc.new_list() } end)
    assert.is_false(ok)
    assert.matches("2 object%(s%) created by the function are still alive", err)
    assert.matches("LEAK_FOR_SPEC %-> <list>", err)
    LEAK_FOR_SPEC = nil
  end)

  it("checks its argument", function()
    assert.has_error(function() util.assert_freed(5) end,
      "bad argument #1 to 'assert_freed' (function expected, got number)")
  end)
end)
