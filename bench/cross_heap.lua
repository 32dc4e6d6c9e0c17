-- cross_heap.lua -- the cost of one collection of both heaps.
--   lua5.4 bench/cross_heap.lua            runs the three variants, each in
--                                          its own process under /usr/bin/time -v,
--                                          and prints a markdown table
--   lua5.4 bench/cross_heap.lua VARIANT    one variant, prints "median_s runs"
-- Variants, each N objects (BENCH_N, default 10^6) in rings of 10 kept
-- alive from one root, a tenth of them holding a small Lua table:
--   cross  pygc instances; gc.collect() mirrors the objects that reach Lua
--          values into Lua and runs Lua's full collection and pygc's
--   plain  the same heap shape without the Lua tables (pygc's full
--          collection and a Lua full collection that has little to see)
--   lua    plain Lua tables, Lua's own collectgarbage()
-- Time: the collect call alone, os.clock, median of BENCH_RUNS (default 5)
-- in one process.  Memory: the variant process's maximum resident set.
if not os.getenv("LUA_CPATH") then package.cpath = "./?.so;" .. package.cpath end
local N = tonumber(os.getenv("BENCH_N") or "") or 1000000
local RUNS = tonumber(os.getenv("BENCH_RUNS") or "") or 5
local RING = 10

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

local function run_variant(v)
  local collect
  local root
  if v == "lua" then
    root = {}
    for r = 1, N // RING do
      local first = { i = r }
      local cur = first
      for k = 2, RING do
        local n = { i = k }
        if k == RING then n.t = { v = k } end -- a tenth hold a small table
        cur.next = n
        cur = n
      end
      cur.next = first
      root[r] = first
    end
    collect = function() collectgarbage() end
  else
    local gc = require "pygc"
    gc.disable() -- only the measured collections
    local Node = gc.class("Node")
    root = gc.new_list()
    for r = 1, N // RING do
      local first = Node()
      local cur = first
      for k = 2, RING do
        local n = Node()
        if k == RING and v == "cross" then n.t = { v = k } end
        cur.next = n
        cur = n
      end
      cur.next = first
      root[r] = first
    end
    collectgarbage(); collectgarbage() -- the construction's handles go
    collect = function() return gc.collect() end
  end
  collect() -- warm: the first run pays for growing the tables it uses
  local times = {}
  for i = 1, RUNS do
    local t0 = os.clock()
    collect()
    times[i] = os.clock() - t0
  end
  local check = v == "lua" and #root or #root
  assert(check == N // RING)
  print(("%.4f %d"):format(median(times), RUNS))
end

local v = arg[1]
if v then return run_variant(v) end

local LUA = os.getenv("LUA") or "lua5.4"
local rows = {}
for _, var in ipairs { "cross", "plain", "lua" } do
  local p = io.popen(("/usr/bin/time -v %s %s %s 2>&1"):format(LUA, arg[0], var))
  local text = p:read("a")
  p:close()
  local secs = tonumber(text:match("^(%d+%.%d+) %d+"))
  local rss = tonumber(text:match("Maximum resident set size %(kbytes%): (%d+)"))
  if not secs or not rss then error("variant " .. var .. " failed:\n" .. text) end
  rows[var] = { secs = secs, rss = rss }
end
local c = rows.cross
print(("cross-heap gc.collect(): %d pygc objects in rings of %d, %d of them holding a Lua table; median of %d runs")
  :format(N, RING, N // RING, RUNS))
print("")
print("| variant | collect (s) | cross / this | peak RSS (MiB) | cross / this |")
print("|---|---:|---:|---:|---:|")
local names = {
  cross = "pygc, 10% hold a Lua table: gc.collect()",
  plain = "pygc, no Lua values: gc.collect()",
  lua = "plain Lua tables: collectgarbage()",
}
for _, var in ipairs { "cross", "plain", "lua" } do
  local r = rows[var]
  print(("| %s | %.3f | %.2f | %.1f | %.2f |"):format(names[var], r.secs, c.secs / r.secs, r.rss / 1024, c.rss / r.rss))
end
