-- Run under valgrind by `make test`: lua_close with live cycles, pending
-- finalizers, frozen objects, uncollectable legacy garbage, and handles
-- kept in a coroutine must leave 0 bytes in use.
local gc = require "pygc"
local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1")
local C = gc.class("C", { __del = function(self) self.done = true end })
local L = gc.class("L", { legacy = true })
local a, b = C(), C()
a.other = b; b.other = a                          -- live cycle held by handles
local d = C(); d.me = d; gc.release(d)           -- garbage awaiting collection
local leg = L(); leg.me = leg; gc.release(leg)   -- uncollectable once collected
gc.collect()
local frozen = gc.new_list(); frozen[1] = frozen
gc.freeze()
local co = coroutine.create(function() local l = gc.new_dict{ k = gc.new_list{1} }; coroutine.yield(l) end)
coroutine.resume(co)
local big = gc.new_list()
for i = 1, math.floor(10000 * scale) + 10 do big[i] = gc.new_tuple{ i, tostring(i) } end
local resurrect = gc.new_list()
local R = gc.class("R", { __del = function(self) resurrect[#resurrect + 1] = self end })
local r = R(); r.me = r; gc.release(r)
gc.disable()
print("closing with", gc.heap_info().objects, "objects")
