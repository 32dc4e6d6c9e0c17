-- The Lua path against its floor (issue 16): what one operation costs
-- through pygc, beside the same operation on a bare userdata with C
-- metamethods that do nothing (bench/floor.c) and on a plain Lua table,
-- all in this one process, interleaved, medians of R rounds.
--   lua5.4 bench/lua_path.lua [N] [R]      (make bench-lua)
local now = require("hrclock").now_ns
local gc = require "pygc"
local floor = require "floor"
local N = tonumber(arg[1]) or 200000
local R = tonumber(arg[2]) or 7
local C = gc.class("C")
local mt_gc = { __gc = function() end }

local ops = {}
local function op(name, pygc_fn, floor_fn, table_fn) ops[#ops + 1] = { name, pygc_fn, floor_fn, table_fn } end

op("create a list / floor / {}", function() for _ = 1, N do local _ = gc.new_list() end end,
  function() for _ = 1, N do local _ = floor.new() end end,
  function() for _ = 1, N do local _ = setmetatable({}, mt_gc) end end)
op("create a dict", function() for _ = 1, N do local _ = gc.new_dict() end end,
  function() for _ = 1, N do local _ = floor.new() end end,
  function() for _ = 1, N do local _ = setmetatable({}, mt_gc) end end)
op("create an instance", function() for _ = 1, N do local _ = C() end end,
  function() for _ = 1, N do local _ = floor.new() end end,
  function() for _ = 1, N do local _ = setmetatable({}, mt_gc) end end)
local l, o, u, t = gc.new_list { 1 }, C { x = 1 }, floor.new(), { 1, x = 1 }
op("read l[1]", function() local s = 0; for _ = 1, N do s = s + l[1] end end,
  function() local s = 0; for _ = 1, N do s = s + u[1] end end,
  function() local s = 0; for _ = 1, N do s = s + t[1] end end)
op("read o.x", function() local s = 0; for _ = 1, N do s = s + o.x end end,
  function() local s = 0; for _ = 1, N do s = s + u.x end end,
  function() local s = 0; for _ = 1, N do s = s + t.x end end)
op("write o.x = i", function() for i = 1, N do o.x = i end end,
  function() for i = 1, N do u.x = i end end,
  function() for i = 1, N do t.x = i end end)
local big, bigt = gc.new_dict(), {}
for i = 1, 1000 do big["k" .. i] = i; bigt["k" .. i] = i end
local M = math.max(1, N // 1000)
op("pairs over 1,000 entries (per entry)", function() for _ = 1, M do for _, v in pairs(big) do local _ = v end end end,
  nil,
  function() for _ = 1, M do for _, v in pairs(bigt) do local _ = v end end end)

local function time(fn)
  collectgarbage(); collectgarbage()
  local t0 = now(); fn(); return (now() - t0)
end
local function median(xs) table.sort(xs); return xs[(#xs + 1) // 2] end

print(("Lua path, N = %d, %d rounds, medians, ns per operation"):format(N, R))
print("| operation | pygc | floor | plain table | pygc / floor | pygc / table |")
print("|---|---|---|---|---|---|")
for _, o_ in ipairs(ops) do
  local name, pf, ff, tf = o_[1], o_[2], o_[3], o_[4]
  local per = name:find("pairs") and (M * 1000) or N
  local tp, tfl, tt = {}, {}, {}
  for _ = 1, R do
    tp[#tp + 1] = time(pf) / per
    if ff then tfl[#tfl + 1] = time(ff) / per end
    tt[#tt + 1] = time(tf) / per
  end
  local mp, mf, mt = median(tp), ff and median(tfl), median(tt)
  print(("| %s | %.1f | %s | %.1f | %s | %.2f |"):format(name, mp, mf and ("%.1f"):format(mf) or "—", mt,
    mf and ("%.2f"):format(mp / mf) or "—", mp / mt))
end
