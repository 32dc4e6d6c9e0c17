-- Run under valgrind by `make test`: lua_close with live weakrefs whose
-- callbacks will fire during the heap's last collection, proxies, weak
-- containers, finalize objects with atexit, and a legacy cycle in
-- gc.garbage (the shutdown warning) must leave 0 bytes in use.
if not package.path:find("binding") then package.path = "./binding/?.lua;" .. package.path end
local gc = require "pygc"
local weakref = require "pygc.weakref"
local N = gc.class("N")
local a = N(); a.me = a
local fired = {}
local r = weakref.ref(a, function(w) fired[#fired + 1] = w() == nil; gc.new_list{ 1 } end)
local p = weakref.proxy(a)
gc.release(a)
local d = weakref.WeakValueDictionary()
local v = N(); v.me = v
d.k = v
local s = weakref.WeakSet()
s:add(v)
local f = weakref.finalize(v, function(x) print("finalize at exit", x) end, "ok")
local g = weakref.finalize(N(), function() error("raises at exit") end)
local L = gc.class("L", { legacy = true })
local leg = L(); leg.me = leg; gc.release(leg)
gc.collect()
print("closing with", weakref.getweakrefcount(v), "weakrefs to v", r, p ~= nil, f.alive, g.alive)
