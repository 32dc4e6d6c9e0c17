-- The plain Lua 5.4 peer: WORKLOADS.md's shapes with Lua tables under
-- Lua's own collector.  lua5.4 w_lua.lua W1..W5 list|inst [plain|lat|nogc] [N] [inc|gen]
local now = require("hrclock").now_ns
local W, KIND = arg[1], arg[2]
local MODE = arg[3] or "plain"
local N = tonumber(arg[4]) or 1000000
local GCMODE = arg[5] or "inc"
local FANOUT = 1000
collectgarbage(GCMODE == "gen" and "generational" or "incremental")
local out = { ('"system": "lua5.4-%s"'):format(GCMODE), ('"workload": "%s"'):format(W), ('"kind": "%s"'):format(KIND),
  ('"mode": "%s"'):format(MODE), ('"N": %d'):format(N) }
local function put(k, v) out[#out + 1] = ('"%s": %s'):format(k, type(v) == "number" and ("%.4f"):format(v) or tostring(v)) end
local list = KIND == "list"

local function w1()
  collectgarbage("collect"); collectgarbage("stop")
  local b0 = now()
  for _ = 1, N // 2 do
    if list then local a = { false }; local b = { a }; a[1] = b
    else local a = {}; local b = {}; a.other = b; b.other = a end
  end
  local t0 = now(); collectgarbage("collect"); local t1 = now()
  put("build_ms", (t0 - b0) / 1e6); put("collect_ms", (t1 - t0) / 1e6); put("ns_per_obj", (t1 - t0) / N)
end

local function build_w2()
  local root = {}
  for i = 1, FANOUT do
    local p = {}
    for j = 1, FANOUT do
      if list then p[j] = { p } else p[j] = { parent = p } end
    end
    root[i] = p
  end
  return root
end

local function w2()
  collectgarbage("collect"); collectgarbage("stop")
  local b0 = now()
  local root = build_w2()
  local t = now(); collectgarbage("collect"); local first = now() - t
  local s = {}
  for i = 1, 3 do t = now(); collectgarbage("collect"); s[i] = now() - t end
  table.sort(s)
  put("build_ms", (t - b0) / 1e6); put("first_ms", first / 1e6); put("ns_per_obj_first", first / 1001001)
  put("steady_ms", s[2] / 1e6); put("ns_per_obj", s[2] / 1001001)
  return root
end

local function churn()
  if MODE == "nogc" then collectgarbage("stop") else collectgarbage("restart") end
  local lat = MODE == "lat"
  local max_iter, over1, over10 = 0, 0, 0
  local t0 = now()
  for _ = 1, N do
    local s = lat and now()
    local a, b, c
    if list then a = { false }; b = { a }; c = { b }; a[1] = c
    else a = {}; b = {}; c = {}; a.next = b; b.next = c; c.next = a end
    if lat then
      local d = now() - s
      if d > max_iter then max_iter = d end
      if d > 1000000 then over1 = over1 + 1 end
      if d > 10000000 then over10 = over10 + 1 end
    end
  end
  local total = now() - t0
  put("total_ms", total / 1e6); put("ns_per_iter", total / N)
  if lat then put("max_iter_ms", max_iter / 1e6); put("iters_over_1ms", over1); put("iters_over_10ms", over10) end
end

local function w5()
  collectgarbage("collect"); collectgarbage("stop")
  local h = false
  for _ = 1, N do if list then h = { h } else h = { next = h } end end
  local t = now(); collectgarbage("collect"); local live = now() - t
  t = now(); h = nil; collectgarbage("collect"); local drop = now() - t
  put("collect_live_ms", live / 1e6); put("drop_ms", drop / 1e6); put("ns_per_obj", drop / N); put("ok", true)
end

local keep
if W == "W1" then w1()
elseif W == "W2" then keep = w2()
elseif W == "W3" then collectgarbage("collect"); churn()
elseif W == "W4" then collectgarbage("collect"); collectgarbage("stop"); keep = build_w2(); collectgarbage("collect"); churn()
elseif W == "W5" then w5() end
print("{" .. table.concat(out, ", ") .. "}")
