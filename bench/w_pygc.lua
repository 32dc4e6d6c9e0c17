-- pygc through the Lua module ("pygc-lua"): WORKLOADS.md's shapes with
-- pygc objects; handles are released where a Python local would die, and
-- Lua's collector runs (untimed) before each timed gc.collect().
-- lua5.4 w_pygc.lua W1..W5 list|inst [plain|lat|nogc] [N]
local now = require("hrclock").now_ns
local gc = require "pygc"
local W, KIND = arg[1], arg[2]
local MODE = arg[3] or "plain"
local N = tonumber(arg[4]) or 1000000
local FANOUT = 1000
local out = { '"system": "pygc-lua"', ('"workload": "%s"'):format(W), ('"kind": "%s"'):format(KIND),
  ('"mode": "%s"'):format(MODE), ('"N": %d'):format(N) }
local function put(k, v) out[#out + 1] = ('"%s": %s'):format(k, type(v) == "number" and ("%.4f"):format(v) or tostring(v)) end
local list = KIND == "list"
local Node = gc.class("Node")
local new_list, release, None = gc.new_list, gc.release, gc.None

local function settle() collectgarbage("collect"); collectgarbage("collect") end

local function w1()
  settle(); gc.collect(); gc.disable()
  local b0 = now()
  for _ = 1, N // 2 do
    if list then local a = new_list{ None }; local b = new_list{ a }; a[1] = b; release(a, b)
    else local a = Node(); local b = Node(); a.other = b; b.other = a; release(a, b) end
  end
  settle()
  local t0 = now(); local n = gc.collect(); local t1 = now()
  put("build_ms", (t0 - b0) / 1e6); put("collect_ms", (t1 - t0) / 1e6); put("ns_per_obj", (t1 - t0) / N); put("collected", n)
end

local function build_w2()
  local root = new_list()
  for i = 1, FANOUT do
    local p = new_list()
    for j = 1, FANOUT do
      local c
      if list then c = new_list{ p } else c = Node(); c.parent = p end
      p[j] = c
      release(c)
    end
    root[i] = p
    release(p)
  end
  return root
end

local function w2()
  settle(); gc.collect(); gc.disable()
  local b0 = now()
  local root = build_w2()
  settle()
  local t = now(); gc.collect(); local first = now() - t
  local s = {}
  for i = 1, 3 do t = now(); gc.collect(); s[i] = now() - t end
  table.sort(s)
  put("build_ms", (t - b0) / 1e6); put("first_ms", first / 1e6); put("ns_per_obj_first", first / 1001001)
  put("steady_ms", s[2] / 1e6); put("ns_per_obj", s[2] / 1001001)
  return root
end

local function churn()
  local gc_ns, max_pause, started, coll = 0, 0, 0, { 0, 0, 0 }
  gc.callbacks[1] = function(phase, info)
    if phase == "start" then started = now()
    else
      local d = now() - started
      gc_ns = gc_ns + d
      if d > max_pause then max_pause = d end
      coll[info.generation + 1] = coll[info.generation + 1] + 1
    end
  end
  if MODE == "nogc" then gc.disable() else gc.enable() end
  local lat = MODE == "lat"
  local max_iter, over1, over10 = 0, 0, 0
  local t0 = now()
  for _ = 1, N do
    local s = lat and now()
    if list then
      local a <close> = new_list{ None }
      local b <close> = new_list{ a }
      local c <close> = new_list{ b }
      a[1] = c
    else
      local a <close> = Node()
      local b <close> = Node()
      local c <close> = Node()
      a.next = b; b.next = c; c.next = a
    end
    if lat then
      local d = now() - s
      if d > max_iter then max_iter = d end
      if d > 1000000 then over1 = over1 + 1 end
      if d > 10000000 then over10 = over10 + 1 end
    end
  end
  local total = now() - t0
  gc.callbacks = {}
  put("total_ms", total / 1e6); put("ns_per_iter", total / N); put("gc_ms", gc_ns / 1e6)
  put("gc_share", gc_ns / total); put("max_gc_pause_ms", max_pause / 1e6)
  out[#out + 1] = ('"collections": [%d, %d, %d]'):format(coll[1], coll[2], coll[3])
  if lat then put("max_iter_ms", max_iter / 1e6); put("iters_over_1ms", over1); put("iters_over_10ms", over10) end
end

local function w5()
  settle(); gc.collect(); gc.disable()
  local h = None
  for _ = 1, N do
    local x
    if list then x = new_list{ h } else x = Node(); x.next = h end
    if h ~= None then release(h) end
    h = x
  end
  settle()
  local t = now(); gc.collect(); local live = now() - t
  t = now(); release(h); local drop = now() - t
  put("collect_live_ms", live / 1e6); put("drop_ms", drop / 1e6); put("ns_per_obj", drop / N); put("ok", true)
end

local keep
if W == "W1" then w1()
elseif W == "W2" then keep = w2()
elseif W == "W3" then settle(); gc.collect(); churn()
elseif W == "W4" then settle(); gc.disable(); keep = build_w2(); settle(); gc.collect(); churn()
elseif W == "W5" then w5() end
put("peak_heap_mb", gc.heap_info().peak_bytes / 1048576)
print("{" .. table.concat(out, ", ") .. "}")
