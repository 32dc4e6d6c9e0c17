-- pygc.monitor's cost on W3 (3-object ring churn through Lua, automatic
-- collection), with and without the monitor, in one process: configs
-- interleaved, each repetition a fresh pass of N iterations, medians.
--   lua5.4 bench/monitor_overhead.lua [N=20000] [reps=61] [list|inst] [old=0]
-- Also times a no-op gc callback (the binding's own cost of having one), and
-- the monitor's cost per collection directly (empty gen-0 collections).
-- (many short passes: on a shared machine the median of short interleaved
-- passes is steadier than a few long ones)
-- old > 0 runs W4's shape instead: the churn beside `old` long-lived objects.
package.cpath = "./?.so;./build/?.so;" .. package.cpath
package.path = "./binding/?.lua;" .. package.path
-- process CPU time by default (a shared machine's other load then costs
-- less noise); PYGC_BENCH_CLOCK=wall uses bench/hrclock.c's monotonic clock
local ok, hr = pcall(require, "hrclock")
local now = function() return os.clock() * 1e9 end
if os.getenv("PYGC_BENCH_CLOCK") == "wall" and ok then now = hr.now_ns end
local gc = require "pygc"
local monitor = require "pygc.monitor"
local N = tonumber(arg[1]) or 20000
local REPS = tonumber(arg[2]) or 61
local KIND = arg[3] or "list"
local OLD = tonumber(arg[4]) or 0
local new_list, None = gc.new_list, gc.None
local Node = gc.class("Node")

local keep
if OLD > 0 then
  gc.disable()
  keep = new_list()
  for i = 1, OLD // 1000 do
    local p = new_list()
    for j = 1, 1000 do local c = new_list{ p }; p[j] = c; gc.release(c) end
    keep[i] = p; gc.release(p)
  end
  collectgarbage(); collectgarbage(); gc.collect()
end

local function churn()
  local t0 = now()
  if KIND == "list" then
    for _ = 1, N do
      local a <close> = new_list{ None }
      local b <close> = new_list{ a }
      local c <close> = new_list{ b }
      a[1] = c
    end
  else
    for _ = 1, N do
      local a <close> = Node()
      local b <close> = Node()
      local c <close> = Node()
      a.next = b; b.next = c; c.next = a
    end
  end
  return (now() - t0) / N
end

local configs = {
  { "no monitor", function() end, function() end },
  { "a no-op gc callback", function() gc.callbacks[1] = function() end end, function() gc.callbacks[1] = nil end },
  { "monitor (sampling off)", function() monitor.start() end, function() monitor.stop() end },
  { "monitor, sample = 100", function() monitor.start{ sample = 100 } end, function() monitor.stop() end },
}
local times = {}
for _, c in ipairs(configs) do times[c[1]] = {} end
gc.enable()
for rep = 1, REPS do
  for k = 0, #configs - 1 do -- the order rotates, so no config always runs first
    local c = configs[(rep + k) % #configs + 1]
    collectgarbage(); collectgarbage(); gc.collect()
    c[2]()
    local ns = churn()
    c[3]()
    table.insert(times[c[1]], ns)
  end
end
local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end
-- the monitor's own cost per collection: empty generation-0 collections
-- with and without it, interleaved
local per = { [false] = {}, [true] = {} }
for _ = 1, REPS do
  for _, on in ipairs({ false, true }) do
    if on then monitor.start() end
    local t0 = now()
    for _ = 1, 20000 do gc.collect(0) end
    per[on][#per[on] + 1] = (now() - t0) / 20000
    if on then monitor.stop() end
  end
end
local collections = 0
monitor.start(); churn(); collections = monitor.summary{ collect = false }.recorded; monitor.stop()
local base = median(times["no monitor"])
print(("W%d %s, N=%d, %d reps interleaved%s (%s ns/iter: median [min..max])"):format(OLD > 0 and 4 or 3, KIND, N, REPS,
  OLD > 0 and (", beside %d old objects"):format(OLD) or "", now == hr.now_ns and "wall" or "CPU"))
for _, c in ipairs(configs) do
  local t = times[c[1]]
  local m = median(t)
  print(("  %-24s %8.1f [%.1f..%.1f]  ratio %.3f"):format(c[1], m, t[1], t[#t], m / base))
end
local cost = median(per[true]) - median(per[false])
print(("  the monitor's cost per collection: %.2f us (empty gen-0 collections: %.2f us without, %.2f us with);"
  .. " %d collections per pass of W3, so %.2f%% of its no-monitor time"):format(cost / 1000, median(per[false]) / 1000,
  median(per[true]) / 1000, collections, 100 * cost * collections / (base * N)))
