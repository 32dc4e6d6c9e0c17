-- Run under valgrind by `make test`: lua_close with classes as heap
-- objects alive in every shape -- attributes holding Lua values and pygc
-- objects, self cycles, instance/class cycles, methods whose upvalues hold
-- their class, a __del set after creation -- must leave 0 bytes in use.
local gc = require "pygc"
local Counter
Counter = gc.class("Counter", {
  count = 0,
  __init = function(self) Counter.count = Counter.count + 1 end,
  make = function() return Counter() end, -- the upvalue holds the class: a cycle through Lua
})
Counter.registry = gc.new_list { Counter(), Counter.make() }
Counter.data = { t = { 1, 2, 3 } }
local A = gc.class("A"); A.a = A                   -- a live self cycle
local B = gc.class("B"); B.inst = B(); gc.release(B) -- garbage awaiting collection
local D = gc.class("D")
D.__del = function(self) self.done = true end      -- set after creation: runs (or not) at close
local d = D(); d.me = d; gc.release(d)
local E = gc.class("E", { m = function() end }); E.self = E; gc.release(E)
gc.collect()
local F = gc.class("F"); F.inst = F(); F.inst.me = F; gc.release(F) -- left for lua_close
print("closing with", gc.heap_info().objects, "objects", Counter.count, A.a == A)
