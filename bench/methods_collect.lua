-- methods_collect.lua -- what methods cost gc.collect() (issue 16).
-- A class whose methods are Lua functions holds values of Lua's heap, so
-- every gc.collect() asks whether a cycle runs through Lua.  With the
-- methods held only by classes that have live instances the answer is a
-- read-only pass (lib/cross.c, step 0).  One process: N instances of a
-- class, gc.collect() timed without methods, then with two methods added.
--   lua5.4 bench/methods_collect.lua [N] [R]
local now = require("hrclock").now_ns
local gc = require "pygc"
local N = tonumber(arg[1]) or 100000
local R = tonumber(arg[2]) or 7
local C = gc.class("C")
local keep = {}
for i = 1, N do keep[i] = C() end
local function median_collect()
  local t = {}
  for i = 1, R do
    collectgarbage(); collectgarbage()
    local t0 = now(); gc.collect(); t[i] = (now() - t0) / 1e6
  end
  table.sort(t)
  return t[(R + 1) // 2]
end
local plain = median_collect()
function C.m(self) return self end
C.n = function() end
local with = median_collect()
print(("gc.collect() over %d instances, median of %d: without methods %.2f ms, with methods %.2f ms, ratio %.2f")
  :format(N, R, plain, with, with / plain))
