-- The pygc side of weak_scenarios.py: weak references against CPython,
-- scenario for scenario, printing the same facts.
-- Run: lua5.4 weak_scenarios.lua NAME (required as a module, it returns
-- the names and declared divergences for spec/conformance_spec.lua).
local gc = require "pygc"
local weakref = require "pygc.weakref"

local P = require("spec.conformance.prelude").new({ nil_is_none = true })
local out, collect, del, scenario = P.out, P.collect, P.del, P.scenario

local Node = gc.class("Node")
local CC = gc.class("C1055820")
local function C1055820(i, cls)
  local c = (cls or CC)()
  c.i = i
  c.loop = c
  return c
end

scenario("ref_basic", function()
  local o = Node()
  local r = weakref.ref(o)
  out("alive", rawequal(r(), o))
  del(o)
  out("dead", r() == nil)
end)

scenario("ref_shared", function()
  local o = Node()
  out("same", rawequal(weakref.ref(o), weakref.ref(o)))
  out("with callback differs", rawequal(weakref.ref(o, function() end), weakref.ref(o)))
  out("proxy shared", rawequal(weakref.proxy(o), weakref.proxy(o)))
end)

scenario("callback_once", function()
  local o = Node()
  local seen, r = {}, nil
  r = weakref.ref(o, function(w)
    seen[#seen + 1] = rawequal(w, r)
    out("in callback dead", w() == nil)
  end)
  del(o)
  out("calls", #seen, seen[1])
end)

scenario("callbacks_newest_first", function()
  local o = Node()
  local order, keep = {}, {}
  for _, n in ipairs { "a", "b", "c" } do
    keep[#keep + 1] = weakref.ref(o, function() order[#order + 1] = n end)
  end
  del(o)
  out("order", table.concat(order, ","))
  out("kept", #keep)
end)

scenario("weakref_count", function()
  local o = Node()
  out("none", weakref.getweakrefcount(o))
  local r1 = weakref.ref(o)
  out("one", weakref.getweakrefcount(o))
  local r2 = weakref.ref(o, function() end)
  local p = weakref.proxy(o)
  out("three", weakref.getweakrefcount(o))
  del(r2)
  out("two", weakref.getweakrefcount(o))
  out("of int", weakref.getweakrefcount(5))
  del(o)
  out("dead", 0, r1() == nil, p ~= nil)
end)

scenario("weakrefs_order", function()
  local o = Node()
  local c1 = weakref.ref(o, function() end)
  local basic = weakref.ref(o)
  local c2 = weakref.ref(o, function() end)
  local p = weakref.proxy(o)
  local names = { [gc.id(c1)] = "c1", [gc.id(basic)] = "basic", [gc.id(c2)] = "c2", [gc.id(p)] = "proxy" }
  local t = {}
  for _, w in ipairs(weakref.getweakrefs(o)) do t[#t + 1] = names[gc.id(w)] end
  out("order", table.concat(t, ","))
end)

scenario("proxy_forwards", function()
  local o = Node()
  local p = weakref.proxy(o)
  p.x = 5
  out("set through", o.x)
  out("get through", p.x)
  out("str", tostring(p) == tostring(o))
end)

scenario("proxy_dead", function()
  local o = Node()
  local p = weakref.proxy(o)
  del(o)
  local _, err = pcall(function() return p.x end)
  out("error", (tostring(err):gsub("^.-:%d+: ", "")))
end)

scenario("refused_types", function()
  for _, v in ipairs { gc.new_tuple { 1, 2 }, "s" } do
    local _, err = pcall(weakref.ref, v)
    out("error", err)
  end
  local r = weakref.ref(Node())
  out("ref to ref", pcall(weakref.ref, r) and "allowed" or "refused")
end)

scenario("ref_equality", function()
  local o = Node()
  local r1 = weakref.ref(o)
  local r2 = weakref.ref(o, function() end)
  out("live equal", r1 == r2)
  local o2 = Node()
  out("other unequal", r1 == weakref.ref(o2))
  del(o)
  out("dead unequal", r1 == r2)
  out("dead self", r1 == r1)
end)

scenario("ref_dict_key", function()
  local o = Node()
  local d = gc.new_dict()
  local r1 = weakref.ref(o)
  d[r1] = "v"
  local r2 = weakref.ref(o, function() end)
  out("found by other", d[r2])
  del(o)
  out("found by itself", d[r1])
  out("other lost", d[r2] ~= nil)
end)

scenario("hash_after_death", function()
  local o = Node()
  local r1 = weakref.ref(o)
  local d = gc.new_dict()
  d[r1] = 1 -- hashed
  local r2 = weakref.ref(o, function() end)
  del(o)
  out("remembered", pcall(function() d[r1] = 2 end))
  out("never hashed", pcall(function() d[r2] = 1 end) and "ok" or "error")
end)

scenario("del_sees_live_ref", function()
  local r
  local D = gc.class("D", { __del = function(self) out("in del alive", rawequal(r(), self)) end })
  local o = D()
  r = weakref.ref(o, function() out("callback") end)
  del(o)
  out("after", r() == nil)
end)

scenario("resurrect_keeps_ref", function()
  local keep = gc.new_list()
  local D = gc.class("D", { __del = function(self) keep[#keep + 1] = self end })
  local o = D()
  local r = weakref.ref(o, function() out("callback") end)
  del(o)
  out("resurrected alive", rawequal(r(), keep[1]))
  keep[1] = nil
  collectgarbage(); collectgarbage()
  out("dead now", r() == nil)
end)

scenario("del_creates_weakref", function()
  local holder = {}
  local D = gc.class("D", { __del = function(self)
    out("del")
    holder[#holder + 1] = weakref.ref(self, function() out("callback of a weakref made in del") end)
  end })
  local o = D()
  del(o)
  out("refs", #holder, holder[1]() == nil)
end)

scenario("cycle_cleared_before_del", function()
  local r
  local D = gc.class("D", { __del = function() out("in del", r() == nil) end })
  local o = D()
  o.me = o
  r = weakref.ref(o, function() out("callback") end)
  del(o)
  out("collect", collect())
  out("dead", r() == nil)
end)

scenario("cycle_callback_runs", function()
  local a, b = Node(), Node()
  a.b = b
  b.a = a
  local calls = {}
  local r = weakref.ref(a, function(w) calls[#calls + 1] = w() == nil end) -- luacheck: ignore r
  del(a); del(b)
  out("collect", collect())
  out("calls", #calls, calls[1])
end)

scenario("garbage_weakref_no_callback", function()
  local a = Node()
  a.me = a
  a.wr = weakref.ref(a, function() out("callback") end)
  del(a)
  out("collect", collect())
end)

scenario("weakrefs_counted", function()
  local a, b = Node(), Node()
  a.b = b
  b.a = a
  a.w1 = weakref.ref(b, function() out("callback") end)
  b.w2 = weakref.ref(a)
  del(a); del(b)
  out("collect", collect())
end)

scenario("callback_frees_weakref", function()
  local a = Node()
  a.me = a
  local holder = gc.new_list()
  local w = weakref.ref(a, function()
    holder[1] = nil
    out("callback")
  end)
  holder[1] = w
  del(w)
  del(a)
  out("collect", collect())
end)

scenario("resurrected_cycle_refs_cleared", function()
  local keep = gc.new_list()
  local D = gc.class("D", { __del = function(self) keep[#keep + 1] = self end })
  local o = D()
  o.me = o
  local r = weakref.ref(o)
  del(o)
  out("collect", collect())
  out("ref cleared", r() == nil, "object alive", #keep)
  keep[1] = nil
  out("collect again", collect())
end)

scenario("bug1055820b", function()
  local ouch, WRs = {}, {}
  local function callback()
    ouch = {}
    for i, wr in ipairs(WRs) do ouch[i] = wr() == nil end
  end
  local Cs = { C1055820(0), C1055820(1) }
  for i, c in ipairs(Cs) do WRs[i] = weakref.ref(c, callback) end
  collect()
  out("before", #ouch)
  for _, c in ipairs(Cs) do del(c) end
  Cs = nil
  collect()
  local all = true
  for _, x in ipairs(ouch) do all = all and x end
  out("after", #ouch, all)
end)

scenario("bug1055820c", function()
  local c0 = C1055820(0)
  collect() -- c0 to the oldest generation
  local c1 = C1055820(1)
  c1.keep_c0_alive = c0
  c0.loop = nil
  local c2 = C1055820(2)
  local c2wr = weakref.ref(c2)
  local ouch = {}
  local c0wr = weakref.ref(c0, function() ouch = { c2wr() == nil } end)
  del(c0); del(c1); del(c2)
  collectgarbage(); collectgarbage()
  out("young collection", gc.collect(0))
  out("ouch", #ouch, #ouch > 0 and ouch[1] or "-")
  out("c0wr dead", c0wr() == nil)
end)

scenario("bug1055820d", function()
  local ouch = {}
  local c2wr
  local D = gc.class("D", { __del = function() ouch = { c2wr() == nil } end })
  local d0 = C1055820(0, D)
  collect()
  local c1 = C1055820(1)
  c1.keep_d0_alive = d0
  d0.loop = nil
  local c2 = C1055820(2)
  c2wr = weakref.ref(c2)
  del(d0); del(c1); del(c2)
  collectgarbage(); collectgarbage()
  out("young collection", gc.collect(0))
  out("ouch", #ouch, #ouch > 0 and ouch[1] or "-")
end)

scenario("callback_in_cycle", function()
  local i, t = Node(), Node()
  i.t = t
  t.back = i
  i.wr = weakref.ref(t, function() out("callback") end)
  del(i); del(t)
  out("collect", collect())
end)

scenario("trash_weakref_clear", function()
  local a = Node()
  a.a = a
  a.z = Node()
  a.wz = weakref.ref(a.z, function() out("callback") end)
  del(a)
  out("collect", collect())
end)

scenario("callback_raises", function()
  gc.unraisablehook = function() out("unraisable reported") end
  local o = Node()
  local r = weakref.ref(o, function() error("boom") end)
  del(o)
  out("went on", r() == nil)
end)

scenario("callback_in_collection_uses_heap", function()
  local a = Node()
  a.me = a
  local other = Node()
  local made = {}
  local r = weakref.ref(a, function() -- luacheck: ignore r
    made[#made + 1] = weakref.ref(other, function() end)
    made[#made + 1] = gc.new_list { 1, 2, 3 }
    out("collect inside", gc.collect())
  end)
  del(a)
  out("collect", collect())
  out("made", #made, rawequal(made[1](), other))
end)

scenario("proxy_callback", function()
  local o = Node()
  local got, p = {}, nil
  p = weakref.proxy(o, function(w) got[#got + 1] = rawequal(w, p) end)
  del(o)
  out("called with the proxy", #got, got[1])
end)

scenario("list_and_dict_referents", function()
  local lst = gc.new_list()
  local r = weakref.ref(lst)
  out("list alive", rawequal(r(), lst))
  del(lst)
  out("list dead", r() == nil)
end)

scenario("wvd_basic", function()
  local d = weakref.WeakValueDictionary()
  local o1, o2 = Node(), Node()
  d.a = o1
  d.b = o2
  out("len", #d)
  del(o1)
  out("len", #d, "a", d.a, "b", rawequal(d.b, o2))
  local keys = {}
  for k in pairs(d) do keys[#keys + 1] = k end
  table.sort(keys)
  out("keys", table.concat(keys, ","))
end)

scenario("wvd_cycle_value", function()
  local d = weakref.WeakValueDictionary()
  local o = Node()
  o.me = o
  d[1] = o
  del(o)
  out("before collect", #d)
  collect()
  out("after collect", #d)
end)

scenario("wkd_basic", function()
  local d = weakref.WeakKeyDictionary()
  local k1, k2 = Node(), Node()
  d[k1] = 1
  d[k2] = 2
  out("len", #d, d[k1], d[k2])
  del(k1)
  out("len", #d, d[k2])
  local vs = {}
  for _, v in pairs(d) do vs[#vs + 1] = tostring(v) end
  out("values", table.concat(vs, ","))
end)

scenario("weakset_basic", function()
  local s = weakref.WeakSet()
  local a, b, c = Node(), Node(), Node()
  s:add(a)
  s:add(b)
  s:add(c)
  s:add(a)
  out("len", #s)
  s:discard(b)
  out("len", #s, s:contains(a), s:contains(b))
  del(a)
  out("len", #s, s:contains(c))
  local n = 0
  for _ in pairs(s) do n = n + 1 end
  out("members", n)
end)

scenario("finalize_on_death", function()
  local o = Node()
  local f = weakref.finalize(o, function(...) out("finalizer", ...) end, 1, 2)
  out("alive", f.alive, "atexit", f.atexit)
  del(o)
  out("alive", f.alive)
  out("call after", f())
end)

scenario("finalize_call_once", function()
  local o = Node()
  local f = weakref.finalize(o, function() return "result" end)
  out("first", f())
  out("second", f())
  out("alive", f.alive)
  del(o)
  out("done")
end)

scenario("finalize_detach_peek", function()
  local o = Node()
  local function fn() out("must not run") end
  local f = weakref.finalize(o, fn, 7)
  local obj, func, x = f:peek()
  out("peek", rawequal(obj, o), func == fn, "(" .. x .. ",)")
  obj, func, x = f:detach()
  out("detach", rawequal(obj, o), "(" .. x .. ",)", "alive", f.alive)
  out("peek after", f:peek(), "detach after", f:detach())
  del(obj)
  del(o)
  out("done")
end)

scenario("finalize_in_cycle", function()
  local o = Node()
  o.me = o
  local f = weakref.finalize(o, function() out("finalized") end)
  del(o)
  out("collect", collect() > 0)
  out("alive", f.alive)
end)

-- deliberate differences, python line -> pygc line
local DIVERGE = {}
local NOT_INCREMENTAL = {}

return P.main("weak_scenarios", DIVERGE, NOT_INCREMENTAL)
