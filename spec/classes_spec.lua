-- Classes are heap objects, as in CPython: tracked, their attributes in the
-- heap and settable after creation (class counters, registries, methods
-- added later), and collectable in cycles (A.a = A; an instance and its
-- class).  Hostile shapes: finalizers and methods that change the class
-- under their own feet, a class released while its instance's __init runs.
local S = require "spec.support"
local gc = S.gc
local weakref = require "pygc.weakref"

local function dead(r)
  return r() == nil
end

describe("classes as heap objects", function()
  before_each(S.reset)
  after_each(S.verify)

  it("are tracked objects of type 'type', named, with a repr", function()
    local A = gc.class("Alpha")
    assert.is_true(gc.is_tracked(A))
    assert.are.equal("type", gc.type(A))
    assert.are.equal("Alpha", A.__name)
    assert.are.equal("<class 'Alpha'>", tostring(A))
    local found = false
    for _, o in ipairs(gc.get_objects()) do
      if rawequal(o, A) then found = true end
    end
    assert.is_true(found)
    S.verify()
  end)

  it("keep a counter incremented by __init, seen by every instance", function()
    local Counter
    Counter = gc.class("Counter", {
      count = 0,
      __init = function(self, name)
        self.name = name
        Counter.count = Counter.count + 1
      end,
    })
    local a, b, c = Counter("a"), Counter("b"), Counter("c")
    assert.are.equal(3, Counter.count)
    assert.are.equal(3, a.count) -- instance -> class
    S.verify()
    a.count = 100 -- an instance attribute shadows the class's
    assert.are.equal(100, a.count)
    assert.are.equal(3, b.count)
    assert.are.equal(3, Counter.count)
    a.count = nil -- the class's shows through again
    assert.are.equal(3, a.count)
    gc.release(a, b, c)
    S.verify()
  end)

  it("hold a registry list, methods and values set after creation", function()
    local Reg = gc.class("Reg", { __init = function(self, n) self.n = n end })
    Reg.registry = gc.new_list()
    local o = Reg(1)
    Reg.registry[#Reg.registry + 1] = o
    Reg.registry[#Reg.registry + 1] = Reg(2)
    assert.are.equal(2, #Reg.registry)
    assert.is_true(rawequal(o, Reg.registry[1]))
    -- a method added later is seen by existing instances at once
    assert.is_nil(o.double)
    Reg.double = function(self) return self.n * 2 end
    assert.are.equal(2, o:double())
    Reg.double = function(self) return self.n * 20 end -- replaced
    assert.are.equal(20, o:double())
    Reg.double = nil -- deleted, as an instance's attribute
    assert.is_nil(o.double)
    assert.is_nil(Reg.double)
    Reg.never = nil -- deleting what is not there does nothing
    -- the class holds a Lua table as a value, by identity
    local t = {}
    Reg.t = t
    assert.is_true(rawequal(t, Reg.t))
    assert.is_true(rawequal(t, o.t))
    S.verify()
  end)

  it("iterate their attributes with pairs", function()
    local P = gc.class("P", { a = 1, b = "two" })
    P.c = true
    local seen = {}
    for k, v in pairs(P) do seen[k] = v end
    assert.are.same({ a = 1, b = "two", c = true }, seen)
    assert.has_error(function()
      for k in pairs(P) do P[k .. "x"] = 1 end
    end, "class changed size during iteration")
  end)

  it("copy the spec: later edits of the spec table do not change the class", function()
    local spec = { x = 1, f = function() return "f" end }
    local C = gc.class("Copied", spec)
    spec.x = 2
    spec.y = 3
    spec.f = function() return "g" end
    assert.are.equal(1, C.x)
    assert.is_nil(C.y)
    assert.are.equal("f", C.f())
    -- and the class's own changes leave the spec alone
    C.x = 10
    assert.are.equal(2, spec.x)
  end)

  it("show their attributes to get_referents, get_referrers and _edges", function()
    local inner = gc.new_list()
    local C = gc.class("Shown", { v = 5 })
    C.items = inner
    local refs = gc.get_referents(C)
    local has_inner, has_five = false, false
    for _, r in ipairs(refs) do
      if rawequal(r, inner) then has_inner = true end
      if r == 5 then has_five = true end
    end
    assert.is_true(has_inner)
    assert.is_true(has_five)
    local referrers = gc.get_referrers(inner)
    assert.are.equal(1, #referrers)
    assert.is_true(rawequal(C, referrers[1]))
    local ch, lab = gc._edges(C, 1)
    assert.are.equal(1, #ch) -- the one reference (the name strs are owned edges, 5 an atomic value)
    assert.is_true(rawequal(inner, ch[1]))
    assert.are.equal(".items", lab[1])
    local ch2, lab2 = gc._edges(C, 2)
    local named = false
    for i = 1, #ch2 do if lab2[i] == "__name__" and ch2[i] == "Shown" then named = true end end
    assert.is_true(named)
    -- an instance's class is one of its references
    local o = C()
    local och, olab = gc._edges(o, 1)
    assert.is_true(rawequal(C, och[1]))
    assert.are.equal("__class__", olab[1])
  end)

  it("raise clear errors for bad attributes, names and specs", function()
    local C = gc.class("Err")
    assert.has_error(function() C[1] = 2 end, "attribute name must be string, not 'number'")
    assert.has_error(function() C.__del = 5 end, "pygc: __del must be a function")
    assert.has_error(function() C.__init = {} end, "pygc: __init must be a function")
    assert.has_error(function() C.__name = "Other" end, "pygc: cannot set '__name' of class 'Err'")
    assert.are.equal("Err", C.__name)
    assert.is_nil(C[1])
    assert.has_error(function() gc.class("X", { [1] = true }) end,
      "bad argument #2 to 'class' (attribute names must be strings, got number)")
    assert.has_error(function() gc.class("X", { __name = "Y" }) end,
      "bad argument #2 to 'class' (__name is the class's name, not an attribute)")
    assert.has_error(function() gc.class("X", { __init = 1 }) end, "bad argument #2 to 'class' (__init must be a function)")
    assert.has_error(function() gc.class("X", 5) end, "bad argument #2 to 'class' (table expected, got number)")
    assert.has_error(function() gc.class({}) end, "bad argument #1 to 'class' (string expected, got table)")
    C.y = gc.release -- a C function is a Lua value like any
    assert.is_true(rawequal(gc.release, C.y))
    S.verify()
  end)
end)

describe("class finalizers set after creation", function()
  before_each(S.reset)
  after_each(S.verify)

  it("run a __del set after the class was made, and stop after it is deleted", function()
    local ran = 0
    local C = gc.class("Late")
    gc.release(C())
    assert.are.equal(0, ran)
    C.__del = function() ran = ran + 1 end
    gc.release(C())
    assert.are.equal(1, ran)
    -- an instance made before __del was set is finalized too (Python looks it up when it runs)
    C.__del = nil
    local early = C()
    C.__del = function() ran = ran + 10 end
    gc.release(early)
    assert.are.equal(11, ran)
    C.__del = nil
    gc.release(C())
    assert.are.equal(11, ran)
    -- and in cyclic garbage
    C.__del = function() ran = ran + 100 end
    local a = C()
    a.me = a
    gc.release(a)
    assert.are.equal(1, S.collect_all())
    assert.are.equal(111, ran)
  end)

  it("use the __del the class holds when the instance dies, a replaced one included", function()
    local log = {}
    local C = gc.class("Swap", { __del = function() log[#log + 1] = "first" end })
    local o = C()
    C.__del = function() log[#log + 1] = "second" end
    gc.release(o)
    assert.are.same({ "second" }, log)
  end)

  it("__init set after creation runs; Cls.__init = nil falls back to attribute tables", function()
    local C = gc.class("Init", { __init = function(self, v) self.v = v * 2 end })
    assert.are.equal(4, C(2).v)
    C.__init = function(self, v) self.v = v * 3 end
    assert.are.equal(6, C(2).v)
    C.__init = nil
    local o = C { v = 7, w = 8 }
    assert.are.equal(7, o.v)
    assert.are.equal(8, o.w)
    assert.is_nil(C.__init)
    S.verify()
  end)
end)

describe("classes in cycles", function()
  before_each(S.reset)
  after_each(S.verify)

  for _, mode in ipairs { "generational", "incremental" } do
    it("A.a = A is collected once dropped (" .. mode .. ")", function()
      gc.set_mode(mode)
      local A = gc.class("A", { f = function() return 1 end })
      A.a = A
      local r = weakref.ref(A)
      gc.release(A)
      S.verify()
      -- the class and the lref holding its method
      assert.are.equal(2, S.collect_all())
      assert.is_true(dead(r))
    end)

    it("an instance and its class in a cycle, __del run once (" .. mode .. ")", function()
      gc.set_mode(mode)
      local ran = {}
      local A = gc.class("Cyc", { __del = function(self) ran[#ran + 1] = self.tag end })
      A.inst = A()
      A.inst.tag = "i"
      local rc, ri = weakref.ref(A), weakref.ref(A.inst)
      gc.release(A)
      S.verify()
      assert.are.equal(3, S.collect_all()) -- instance, class, the lref of __del
      assert.are.same({ "i" }, ran)
      assert.is_true(dead(rc))
      assert.is_true(dead(ri))
      assert.are.equal(0, S.collect_all())
      assert.are.same({ "i" }, ran)
    end)
  end

  it("a class held only by its instance lives while the instance does", function()
    local A = gc.class("Kept", { hello = function() return "hi" end })
    A.a = A
    local o = A()
    local r = weakref.ref(A)
    gc.release(A)
    S.collect_all()
    assert.is_false(dead(r))
    assert.are.equal("hi", o.hello())
    assert.are.equal("Kept", gc.type(o))
    gc.release(o)
    S.collect_all()
    assert.is_true(dead(r))
  end)

  it("a class whose methods hold its handle is freed once its instances are gone (a cycle through Lua)", function()
    local r, ri
    do
      local Counter
      Counter = gc.class("SelfRef", {
        count = 0,
        __init = function(self) Counter.count = Counter.count + 1; self.n = Counter.count end,
        make = function() return Counter() end,
      })
      local o = Counter.make()
      r, ri = weakref.ref(Counter), weakref.ref(o)
      assert.are.equal(1, o.n)
    end
    S.collect_all()
    assert.is_true(dead(ri))
    S.collect_all() -- the instance went first; the class, now without instances, with its methods
    assert.is_true(dead(r))
  end)

  it("a resurrected instance keeps its class and the class's attributes", function()
    local keep = gc.new_list()
    local A = gc.class("Phoenix", {
      greet = function() return "again" end,
      __del = function(self) keep[#keep + 1] = self end,
    })
    A.inst = A()
    gc.release(A)
    S.collect_all()
    assert.are.equal(1, #keep)
    assert.are.equal("again", keep[1].greet())
    assert.are.equal("Phoenix", gc.type(keep[1]))
    keep[1] = nil
    S.collect_all()
  end)
end)

describe("classes under hostile code", function()
  before_each(S.reset)
  after_each(S.verify)

  it("a __del that sets a class attribute, during a collection and at refcount death", function()
    local C
    C = gc.class("Tally", {
      dead = 0,
      __del = function(self)
        C.dead = C.dead + 1
        C.last = self.tag
        C.trash = gc.new_list { self.tag } -- replaces the previous list while the heap runs finalizers
      end,
    })
    for i = 1, 5 do
      local a, b = C(), C()
      a.tag, b.tag = i, -i
      a.b, b.a = b, a
      gc.release(a, b)
    end
    local o = C()
    o.tag = 0
    gc.release(o)
    assert.are.equal(1, C.dead)
    S.verify()
    S.collect_all()
    S.verify()
    assert.are.equal(11, C.dead)
    assert.are.equal(1, #C.trash)
  end)

  it("a __del that deletes the class's __del: the rest of the garbage is not finalized", function()
    local ran = 0
    local C
    C = gc.class("Once", { __del = function() ran = ran + 1; C.__del = nil end })
    local a, b = C(), C()
    a.b, b.a = b, a
    gc.release(a, b)
    assert.are.equal(2, S.collect_all())
    assert.are.equal(1, ran)
  end)

  it("a method replaced (and the old one dropped) while it runs", function()
    local C
    local function first(self, n)
      C.m = function() return "second" end -- drops this function's lref
      collectgarbage(); collectgarbage()
      S.verify()
      if n > 0 then return first(self, n - 1) end -- still callable: Lua holds it while it runs
      return "first"
    end
    C = gc.class("Swapper", { m = first })
    local o = C()
    assert.are.equal("first", o:m(2))
    assert.are.equal("second", o:m())
    S.collect_all()
  end)

  it("a class whose only handle is released while an instance's __init runs", function()
    local C
    C = gc.class("Gone", {
      tag = "class attr",
      __init = function(self, v)
        gc.release(C) -- the last handle: the new instance holds the class now
        collectgarbage(); collectgarbage()
        gc.collect()
        S.verify()
        self.v = v
        self.seen = self.tag
      end,
    })
    local r = weakref.ref(C)
    local o = C(5)
    assert.are.equal(5, o.v)
    assert.are.equal("class attr", o.seen)
    assert.is_false(dead(r))
    assert.are.equal("Gone", gc.type(o))
    gc.release(o)
    S.collect_all()
    assert.is_true(dead(r))
  end)

  it("__init that deletes Cls.__init, then later instances take attribute tables", function()
    local C
    C = gc.class("SelfDel", { __init = function(self) C.__init = nil; self.a = 1 end })
    local first = C()
    assert.are.equal(1, first.a)
    local second = C { b = 2 }
    assert.are.equal(2, second.b)
    assert.is_nil(second.a)
  end)

  it("a finalizer releasing the class handle while the class is being called", function()
    local C
    local Bomb = gc.class("Bomb", { __del = function() gc.release(C) end })
    C = gc.class("Victim", { __init = function(self) self.ok = true end })
    gc.set_threshold(1)
    for _ = 1, 20 do
      local b = Bomb()
      b.me = b
      gc.release(b)
    end
    local ok, res = pcall(function()
      local objs = {}
      for i = 1, 50 do objs[i] = C() end
      return objs
    end)
    gc.set_threshold(700, 10, 10)
    -- either every call ran, or one found the handle released: never a crash
    if ok then
      for _, o in ipairs(res) do assert.is_true(o.ok) end
    else
      assert.matches("released", res)
    end
    S.collect_all()
  end)

  it("a class attribute store whose old value's finalizer releases the class handle", function()
    local C
    local Old = gc.class("OldVal", { __del = function() gc.release(C) end })
    C = gc.class("Holder2")
    C.v = Old()
    C.v = 1 -- drops the Old instance: its __del releases C's handle mid-store
    S.verify()
    S.collect_all()
  end)
end)
