-- Run under valgrind by `make test`: lua_close with Lua values held by the
-- heap, cycles through both heaps (collected and not yet collected), a
-- finalizer that reads its Lua side, and values whose only holder is a
-- frozen object, must leave 0 bytes in use.
local gc = require "pygc"
local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1")
local Node = gc.class("Node", { __del = function(self) local _ = self.t and self.t.v end })
for i = 1, math.floor(2000 * scale) + 10 do
  local n = Node { id = i }
  n.t = { v = i, h = n }                       -- a cycle through Lua, never collected before close
  n.f = function() return n.id end             -- and one through a closure
end
local kept = gc.new_list { {}, print, coroutine.create(print), io.stdout }
local d = gc.new_dict(); d[{}] = function() return d end
local a = Node(); a.t = { h = a }; a = nil
print("collected", gc.collect())              -- some cycles collected across both heaps
local frozen = gc.new_list { { deep = { 1, 2, 3 } } }
gc.freeze()
print("closing with", gc.heap_info().objects, "objects", #kept, #frozen)
