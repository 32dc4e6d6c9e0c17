-- One graph across both heaps: pygc objects hold any Lua value, and
-- cycles through Lua values are garbage like any other.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

local function released(h)
  local ok, err = pcall(function() return h.x end)
  return not ok and tostring(err):find("use of a released handle", 1, true) ~= nil
end

describe("Lua values in the heap", function()
  before_each(support.reset)
  after_each(verify)

  it("tables, functions, coroutines and foreign userdata are stored and read back rawequal", function()
    local t, f, co, ud = {}, function() end, coroutine.create(print), io.stdout
    local l = gc.new_list { t, f, co, ud }
    for i, v in ipairs { t, f, co, ud } do assert.is_true(rawequal(v, l[i])) end
    local d = gc.new_dict { k = t }
    assert.is_true(rawequal(t, d.k))
    local C = gc.class("C")
    local o = C { t = t }
    o.f = f
    assert.is_true(rawequal(t, o.t))
    assert.is_true(rawequal(f, o.f))
    local tup = gc.new_tuple { co, ud }
    assert.is_true(rawequal(co, tup[1]))
    assert.is_true(rawequal(ud, tup[2]))
    assert.is_true(gc.is_tracked(tup)) -- a tuple holding a Lua value may be in a cycle
  end)

  it("print as <Lua table at 0x...> and the like, and gc.type names them", function()
    local l = gc.new_list { {}, print, coroutine.create(print), io.stdout }
    local s = tostring(l)
    assert.truthy(s:match("^%[<Lua table at 0?x?%x+>, <Lua function at 0?x?%x+>, <Lua coroutine at 0?x?%x+>, <Lua userdata at 0?x?%x+>%]$"), s)
    assert.are.equal("Lua table", gc.type({}))
    assert.are.equal("Lua function", gc.type(print))
  end)

  it("functions stored on an instance are its methods", function()
    local C = gc.class("C")
    local o = C { n = 2 }
    o.twice = function(self) return self.n * 2 end
    assert.are.equal(4, o:twice())
  end)

  it("Lua values are dict keys by identity", function()
    local d = gc.new_dict()
    local a, b = {}, {}
    d[a] = 1; d[b] = 2; d[print] = 3
    assert.are.equal(1, d[a]); assert.are.equal(2, d[b]); assert.are.equal(3, d[print])
    assert.are.equal(3, #d)
    d[a] = 10
    assert.are.equal(3, #d)
    local before = gc.heap_info().objects
    assert.is_nil(d[{}]) -- a lookup makes nothing
    assert.are.equal(before, gc.heap_info().objects)
    d[b] = nil
    assert.are.equal(2, #d)
    local seen = {}
    for k, v in pairs(d) do seen[#seen + 1] = { k, v } end
    assert.is_true(rawequal(seen[1][1], a))
    assert.are.equal(10, seen[1][2])
  end)

  it("one Lua value is one heap object, however often it is stored", function()
    local t = {}
    local l = gc.new_list { t, t }
    local d = gc.new_dict { x = t }
    local refs = gc.get_referents(l)
    assert.are.equal(2, #refs)
    assert.is_true(rawequal(refs[1], refs[2]))
    assert.is_true(rawequal(d.x, l[2]))
  end)

  it("get_referents and get_referrers include Lua values", function()
    local t = {}
    local C = gc.class("C")
    local o = C { t = t }
    local found = false
    for _, v in ipairs(gc.get_referents(o)) do if rawequal(v, t) then found = true end end
    assert.is_true(found)
    local holders = gc.get_referrers(t)
    assert.are.equal(1, #holders)
    assert.is_true(rawequal(holders[1], o))
  end)
end)

describe("lifetime of stored Lua values", function()
  before_each(support.reset)
  after_each(verify)

  it("a value lives as long as a pygc object holds it", function()
    local l = gc.new_list()
    do
      local t = setmetatable({ v = 42 }, { __gc = function() error("finalized while reachable") end })
      l[1] = t
    end
    for _ = 1, 3 do collectgarbage(); gc.collect() end
    assert.are.equal(42, l[1].v)
    l[1] = nil
  end)

  it("a value held through Lua values only, from a Lua root, is never cleared", function()
    local C = gc.class("C")
    ROOT = { inner = C { data = { v = 7 } } }
    ROOT.inner.self_ref = ROOT.inner -- a pygc cycle that Lua reaches
    local weak = setmetatable({ ROOT.inner.data }, { __mode = "v" })
    for _ = 1, 3 do collectgarbage(); gc.collect() end
    assert.are.equal(7, ROOT.inner.data.v)
    assert.is_true(rawequal(weak[1], ROOT.inner.data))
    ROOT.inner.self_ref = nil
    ROOT = nil
  end)

  it("a value held by a C-rooted object survives every collection", function()
    local keep = gc.new_list()
    local inner = gc.new_dict()
    keep[1] = inner
    inner.cb = function() return "alive" end
    inner = nil
    for _ = 1, 3 do collectgarbage(); gc.collect() end
    assert.are.equal("alive", keep[1].cb())
  end)
end)

describe("cycles through Lua", function()
  before_each(support.reset)
  after_each(verify)

  it("a Lua table holding a handle to an instance that holds the table", function()
    local dels = 0
    local Node = gc.class("Node", { __del = function() dels = dels + 1 end })
    local weak = setmetatable({}, { __mode = "v" })
    do
      local a = Node()
      local t = { h = a }
      a.t = t
      weak[1] = t
    end
    assert.are.equal(2, gc.collect()) -- the instance and its table's lref
    assert.are.equal(1, dels)
    assert.are.equal(0, gc.collect())
    collectgarbage(); collectgarbage()
    assert.is_nil(weak[1]) -- and Lua freed the table
  end)

  it("an instance holding a closure whose upvalue is the instance's handle", function()
    local dels = 0
    local Node = gc.class("Node", { __del = function() dels = dels + 1 end })
    do
      local n = Node { name = "n" }
      n.greet = function() return "hi " .. n.name end
      assert.are.equal("hi n", n.greet())
    end
    assert.are.equal(2, gc.collect())
    assert.are.equal(1, dels)
  end)

  it("two instances pointing at each other, their handles dropped", function()
    local Node = gc.class("Node")
    do
      local a, b = Node(), Node()
      a.o, b.o = b, a
    end
    assert.are.equal(2, gc.collect())
    local st = gc.get_stats()
    assert.is_true(st[3].collected >= 2)
  end)

  it("a longer ring through a coroutine and tables", function()
    local dels = 0
    local Node = gc.class("Node", { __del = function() dels = dels + 1 end })
    do
      local a = Node()
      local co = coroutine.create(function(h) local keep = h; coroutine.yield(); return keep end)
      coroutine.resume(co, { link = a }) -- the coroutine's stack holds a table holding a's handle
      local b = Node { co = co }
      a.next = { b = b }
    end
    local n = gc.collect()
    assert.are.equal(2, dels)
    assert.is_true(n >= 4, "collected " .. n) -- a, b, and the lrefs of a's table and the coroutine
    assert.are.equal(0, gc.collect())
  end)

  it("finalizers see the whole cycle intact, Lua values included, and run once", function()
    local seen = {}
    local Node = gc.class("Node", { __del = function(self)
      seen[#seen + 1] = self.name .. ":" .. self.box.v .. ":" .. self.box.peer.name
    end })
    do
      local a, b = Node { name = "a" }, Node { name = "b" }
      a.box = { v = 1, peer = b }
      b.box = { v = 2, peer = a }
    end
    assert.are.equal(4, gc.collect())
    table.sort(seen)
    assert.same({ "a:1:b", "b:2:a" }, seen)
    assert.are.equal(0, gc.collect())
  end)

  it("a finalizer resurrects by storing into a container reachable only through Lua values", function()
    local store = gc.new_list()
    HOLDER = { store = store }
    store = nil
    local Node = gc.class("Node", { __del = function(self) HOLDER.store[#HOLDER.store + 1] = self end })
    do
      local a = Node { name = "back" }
      a.t = { h = a }
    end
    assert.are.equal(0, gc.collect()) -- resurrected: not counted
    local a = HOLDER.store[1]
    assert.are.equal("back", a.name)
    assert.is_true(gc.is_finalized(a))
    assert.are.equal("table", type(a.t))
    assert.is_true(released(a.t.h)) -- the Lua table kept the handle Lua dropped
    HOLDER.store[1] = nil
    a = nil
    HOLDER = nil
    assert.is_true(gc.collect() >= 1) -- its finalizer does not run again
  end)

  it("a Lua table that keeps a borrowed self past __del holds a released handle", function()
    local kept = {}
    local Node = gc.class("Node", { __del = function(self) kept[#kept + 1] = self end })
    do
      local a = Node()
      a.t = { h = a }
    end
    gc.collect()
    assert.are.equal(1, #kept)
    assert.is_true(released(kept[1]))
  end)

  it("both collectors find cross-heap cycles", function()
    local Node = gc.class("Node") -- one class: a class dropped in the loop is garbage too
    for _, mode in ipairs { "generational", "incremental" } do
      gc.set_mode(mode)
      do
        local a = Node()
        a.t = { a }
      end
      assert.are.equal(2, gc.collect(), mode)
    end
  end)

  it("a program that churns cross-heap rings and never calls gc.collect runs in bounded memory", function()
    local Node = gc.class("Node")
    local peak = 0
    for i = 1, support.n(40000) do
      local a = Node()
      a.t = { h = a }
      if i % 1000 == 0 then
        local objects = gc.heap_info().objects
        if objects > peak then peak = objects end
      end
    end
    assert.is_true(peak < 20000, "peak objects " .. peak)
  end)

  it("objects that reach no Lua value are left to the usual rules", function()
    local Node = gc.class("Node")
    local kept = Node()
    kept.o = Node()
    kept.o.back = kept
    local before = gc.heap_info().objects
    assert.are.equal(0, gc.collect())
    assert.are.equal(before, gc.heap_info().objects)
  end)
end)
