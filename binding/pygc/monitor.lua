--- See the heap: a recorder of every collection of a run
-- (through gc.callbacks) and a report of it as one self-contained HTML file.
--
--     local monitor = require "pygc.monitor"
--     monitor.start{ capacity = 4096, sample = 50 }
--     ... the program runs ...
--     monitor.report("build/heap.html")   -- or monitor.summary() for the figures
--     monitor.stop()
--
-- What it costs: one "stop" callback per collection that writes a few
-- numbers into the ring's columns (no table per event) and reads the heap's
-- objects and bytes with gc.heap_info().  heap_info walks the generation
-- lists (O(tracked objects)), so the reads are paced: one is skipped while
-- the time spent in them would exceed opts.read_budget (2%) of the run, and
-- those events carry no objects/bytes (full collections are always read).
-- On a small heap every collection is read; beside a million old objects,
-- about one in a hundred.  Per-type
-- sampling (opts.sample) walks gc.get_objects() and is off by default.  The monitor keeps no handle to any pygc object, so it never keeps
-- one alive and never shows up in a why_alive chain.
-- @module pygc.monitor
local gc = require "pygc"
local util = require "pygc.util"
local tracemalloc = require "pygc.tracemalloc"

local M = {}

-- ---- argument checks in luaL_argerror's wording --------------------------------

local function typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then return mt.__name end
  return type(v)
end

-- no position prefix, as the C functions' errors
local function argerror(n, fname, msg)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 0)
end

local function check_opts(n, fname, opts)
  if opts ~= nil and type(opts) ~= "table" then argerror(n, fname, "table expected, got " .. typename(opts)) end
  return opts or {}
end

local function opt_integer(n, fname, opts, field, default, min)
  local v = opts[field]
  if v == nil then return default end
  if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" or v < min then
    argerror(n, fname, ("field '%s' must be an integer >= %d, got %s"):format(field, min,
      type(v) == "number" and tostring(v) or typename(v)))
  end
  return v
end

local function opt_number(n, fname, opts, field, default, min)
  local v = opts[field]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < min then
    argerror(n, fname, ("field '%s' must be a number >= %s, got %s"):format(field, min,
      type(v) == "number" and tostring(v) or typename(v)))
  end
  return v
end

local function opt_type(n, fname, opts, field, want, default)
  local v = opts[field]
  if v == nil then return default end
  if type(v) ~= want then argerror(n, fname, ("field '%s' must be a %s, got %s"):format(field, want, typename(v))) end
  return v
end

-- ---- the recorder ---------------------------------------------------------------

-- The ring: one column per figure, slot (seq - 1) % capacity + 1.
local R = nil -- the current (or last) recording; nil before the first start

local MODE_GEN, MODE_INC = 0, 1

local function count_types()
  local counts, bytes, total = {}, {}, 0
  local objs = gc.get_objects()
  local sizeof, gtype = gc.sizeof, gc.type
  for i = 1, #objs do
    local o = objs[i]
    local t = gtype(o)
    counts[t] = (counts[t] or 0) + 1
    bytes[t] = (bytes[t] or 0) + sizeof(o)
    total = total + 1
  end
  return counts, bytes, total
end

local function take_sample(rec, label)
  local counts, bytes, total = count_types()
  local s = { seq = rec.recorded, time = rec.clock() - rec.t0, counts = counts, bytes = bytes, tracked = total,
    label = label }
  return s
end

local function push_sample(rec, s)
  local n = rec.nsamples + 1
  rec.nsamples = n
  rec.samples[(n - 1) % rec.sample_capacity + 1] = s
end

--- Start recording.  Starting while running is an error.
-- @tparam[opt] table opts `capacity` (events kept, default 4096), `sample`
-- (per-type counts every N collections; 0, the default, is off),
-- `sample_capacity` (samples kept, default 256), `read_budget` (the share of
-- the run that reading the heap's counters may take, default 0.02; 1 reads
-- after every collection), `clock` (a function giving seconds, default
-- `os.clock`)
function M.start(opts)
  opts = check_opts(1, "start", opts)
  local capacity = opt_integer(1, "start", opts, "capacity", 4096, 1)
  local sample = opt_integer(1, "start", opts, "sample", 0, 0)
  local sample_capacity = opt_integer(1, "start", opts, "sample_capacity", 256, 1)
  local read_budget = opt_number(1, "start", opts, "read_budget", 0.02, 0)
  if read_budget <= 0 or read_budget > 1 then
    argerror(1, "start", ("field 'read_budget' must be a number in (0, 1], got %s"):format(tostring(read_budget)))
  end
  local clock = opts.clock
  if clock ~= nil and type(clock) ~= "function" then
    argerror(1, "start", "field 'clock' must be a function, got " .. typename(clock))
  end
  clock = clock or os.clock
  if R and R.running then error("pygc.monitor: already running (call monitor.stop() first)", 2) end
  if type(gc.callbacks) ~= "table" then error("pygc.monitor: gc.callbacks is not a table", 2) end

  local rec = {
    running = true, capacity = capacity, sample = sample, sample_capacity = sample_capacity, clock = clock,
    read_budget = read_budget, reads = 0,
    recorded = 0, nsamples = 0, samples = {}, started_at = os.time(), t0 = clock(),
    -- the ring's columns
    c_time = {}, c_gen = {}, c_mode = {}, c_dur = {}, c_coll = {}, c_unc = {}, c_cand = {}, c_obj = {}, c_bytes = {},
    -- whole-run totals per generation (index g + 1), unaffected by the ring
    totals = {},
    tracing_at_start = tracemalloc.is_tracing(),
  }
  for g = 1, 3 do rec.totals[g] = { collections = 0, collected = 0, uncollectable = 0, pause = 0, longest = 0 } end
  local hi = gc.heap_info()
  rec.heap_start = { objects = hi.objects, tracked = hi.tracked, bytes = hi.bytes }
  rec.baseline = take_sample(rec, "start")

  local c_time, c_gen, c_mode, c_dur = rec.c_time, rec.c_gen, rec.c_mode, rec.c_dur
  local c_coll, c_unc, c_cand, c_obj, c_bytes = rec.c_coll, rec.c_unc, rec.c_cand, rec.c_obj, rec.c_bytes
  local totals, heap_info, get_mode, t0 = rec.totals, gc.heap_info, gc.get_mode, rec.t0
  local busy = false
  -- after a read that took c seconds, the next one waits c * spacing: reads
  -- then take at most read_budget of the time
  local spacing = (1 - read_budget) / read_budget
  local next_read = -math.huge
  rec.callback = function(phase, info)
    if phase ~= "stop" or busy then return end
    busy = true
    local seq = rec.recorded + 1
    rec.recorded = seq
    local i = (seq - 1) % capacity + 1
    local g, d = info.generation, info.duration
    local t = clock()
    c_time[i] = t - t0
    -- a full collection has just walked the whole heap: reading it after one
    -- costs less than the pause did, and gives the live heap's true size
    if g == 2 or t >= next_read then
      local h = heap_info()
      local t2 = clock()
      next_read = t2 + (t2 - t) * spacing
      c_obj[i] = h.objects
      c_bytes[i] = h.bytes
      rec.reads = rec.reads + 1
    else
      c_obj[i] = false
      c_bytes[i] = false
    end
    c_gen[i] = g
    c_mode[i] = get_mode() == "incremental" and MODE_INC or MODE_GEN
    c_dur[i] = d
    c_coll[i] = info.collected
    c_unc[i] = info.uncollectable
    c_cand[i] = info.candidates
    local tot = totals[g + 1]
    tot.collections = tot.collections + 1
    tot.collected = tot.collected + info.collected
    tot.uncollectable = tot.uncollectable + info.uncollectable
    tot.pause = tot.pause + d
    if d > tot.longest then tot.longest = d end
    if sample > 0 and seq % sample == 0 then push_sample(rec, take_sample(rec)) end
    busy = false
  end
  R = rec
  local cbs = gc.callbacks
  cbs[#cbs + 1] = rec.callback
  return M
end

--- Stop recording: removes the monitor's own callback (wherever it now is in
-- `gc.callbacks`) and nothing else.  The recording stays for `report` and
-- `summary`.  Stopping when not running does nothing.
-- @treturn boolean whether it was running
function M.stop()
  if not (R and R.running) then return false end
  R.running = false
  R.t_stop = R.clock() - R.t0
  local cbs = gc.callbacks
  if type(cbs) == "table" then
    for i = #cbs, 1, -1 do
      if rawequal(cbs[i], R.callback) then table.remove(cbs, i) end
    end
  end
  return true
end

--- Whether the monitor is recording.
-- @treturn boolean
function M.is_running() return R ~= nil and R.running end

-- For the specs: how many slots the ring's columns hold.
function M._ring_slots() return R and #R.c_time or 0 end

-- ---- figures ----------------------------------------------------------------------

local KIND = {
  [MODE_GEN] = { [0] = "gen0", "gen1", "gen2" },
  [MODE_INC] = { [0] = "young", "increment", "full" },
}

local function events_of(rec)
  local out = {}
  local n = math.min(rec.recorded, rec.capacity)
  local first = rec.recorded - n + 1
  for seq = first, rec.recorded do
    local i = (seq - 1) % rec.capacity + 1
    out[#out + 1] = {
      seq = seq, time = rec.c_time[i], generation = rec.c_gen[i],
      mode = rec.c_mode[i] == MODE_INC and "incremental" or "generational",
      kind = KIND[rec.c_mode[i]][rec.c_gen[i]],
      duration = rec.c_dur[i], collected = rec.c_coll[i], uncollectable = rec.c_unc[i],
      candidates = rec.c_cand[i], objects = rec.c_obj[i] or nil, bytes = rec.c_bytes[i] or nil,
    }
  end
  return out
end

local function samples_of(rec)
  local out = {}
  local n = math.min(rec.nsamples, rec.sample_capacity)
  for k = rec.nsamples - n + 1, rec.nsamples do out[#out + 1] = rec.samples[(k - 1) % rec.sample_capacity + 1] end
  return out
end

-- Durations in bins with round edges (0, 1, 2, 5, 10, 20, 50 µs, ...),
-- counts per generation (index g + 1).
local function bin_edge(k) -- k >= 1: the lower edge of bin k, in seconds
  local m = ({ 1, 2, 5 })[(k - 1) % 3 + 1]
  return m * 10.0 ^ ((k - 1) // 3) / 1e6
end

local function histogram(events)
  local bins, lo_k, hi_k = {}, math.huge, -math.huge
  local where = {}
  for i, e in ipairs(events) do
    local k = 0
    while e.duration >= bin_edge(k + 1) do k = k + 1 end
    where[i] = k
    if k < lo_k then lo_k = k end
    if k > hi_k then hi_k = k end
  end
  if lo_k == math.huge then return bins end
  for k = lo_k, hi_k do
    bins[#bins + 1] = { lo = k == 0 and 0 or bin_edge(k), hi = bin_edge(k + 1), counts = { 0, 0, 0 } }
  end
  for i, e in ipairs(events) do
    local b = bins[where[i] - lo_k + 1]
    b.counts[e.generation + 1] = b.counts[e.generation + 1] + 1
  end
  return bins
end

local DEBUG_NAMES = { { "DEBUG_STATS", 1 }, { "DEBUG_COLLECTABLE", 2 }, { "DEBUG_UNCOLLECTABLE", 4 },
  { "DEBUG_SAVEALL", 32 } }

local function settings()
  local t0, t1, t2 = gc.get_threshold()
  local c0, c1, c2 = gc.get_count()
  local dbg = gc.get_debug()
  local flags = {}
  for _, f in ipairs(DEBUG_NAMES) do if dbg & f[2] ~= 0 then flags[#flags + 1] = f[1] end end
  return { thresholds = { t0, t1, t2 }, counts = { c0, c1, c2 }, mode = gc.get_mode(), debug = dbg,
    debug_flags = flags, enabled = gc.isenabled(), frozen = gc.get_freeze_count() }
end

local function short_repr(o)
  local t = gc.type(o)
  if t == "list" or t == "dict" or t == "tuple" then return ("<%s of %d items>"):format(t, #o) end
  local s = tostring(o)
  if #s > 160 then s = s:sub(1, 157) .. "..." end
  return s
end

-- why_alive for one object of type `tname`, inside a coroutine with an
-- instruction-count hook that stops it at the deadline.  The object is found
-- inside the coroutine, so no frame of the main thread holds it (why_alive
-- walks the main thread's frames too, and would report the monitor's own
-- locals as the holder otherwise).
local function explain(tname, budget, clock)
  local co = coroutine.create(function(want)
    local o
    do
      local objs = gc.get_objects()
      for i = #objs, 1, -1 do
        if gc.type(objs[i]) == want then o = objs[i]; break end
      end
      objs = nil -- luacheck: ignore
    end
    if o == nil then return false end
    local repr = short_repr(o)
    local tb = tracemalloc.is_tracing() and tracemalloc.get_object_traceback(o)
    -- o is this frame's local: why_alive leaves its caller's own locals out
    local chain = util.why_alive(o)
    return true, chain, repr, tb and tostring(tb) or nil
  end)
  local deadline = clock() + budget
  debug.sethook(co, function()
    if clock() > deadline then error("pygc.monitor: why_alive budget exhausted", 0) end
  end, "", 1000)
  local ok, found, chain, repr, tb = coroutine.resume(co, tname)
  coroutine.close(co)
  if not ok then
    return { type = tname, chain = nil, note = ("not found within the budget of %g s"):format(budget) }
  end
  if not found then return { type = tname, chain = nil, note = "no object of this type is tracked now" } end
  local r = { type = tname, chain = chain, repr = repr, traceback = tb }
  if chain == nil then
    r.note = "no Lua value holds it: only garbage that a collection would free, or a C host, keeps it"
  end
  return r
end

-- The figures of the recording as a Lua table (see the README for its
-- shape).  opts: top (growing types listed, 10), chains (why_alive chains,
-- for the top growing types, 3), budget (seconds per chain, 1), longest
-- (pauses listed, 10), collect (a full collection before the final sample,
-- true), tracemalloc (statistics lines, 10).
local function summary(fname, n, opts)
  opts = check_opts(n, fname, opts)
  local top = opt_integer(n, fname, opts, "top", 10, 0)
  local nchains = opt_integer(n, fname, opts, "chains", 3, 0)
  local budget = opt_number(n, fname, opts, "budget", 1, 0)
  local nlongest = opt_integer(n, fname, opts, "longest", 10, 0)
  local ntm = opt_integer(n, fname, opts, "tracemalloc", 10, 0)
  local collect = opt_type(n, fname, opts, "collect", "boolean", true)
  local title = opt_type(n, fname, opts, "title", "string", "pygc heap report")
  if R == nil then error("pygc.monitor: nothing recorded (call monitor.start() first)", 3) end
  local rec = R
  if collect then util.force_collect() end

  local final = take_sample(rec, "now")
  local events = events_of(rec)
  local samples = samples_of(rec)
  table.insert(samples, 1, rec.baseline)
  samples[#samples + 1] = final

  -- growth between the first and the last point
  local before, after = rec.baseline, final
  local growth = {}
  for t, c in pairs(after.counts) do
    local b = before.counts[t] or 0
    if c > b then
      local series = {}
      for k, s in ipairs(samples) do series[k] = s.counts[t] or 0 end
      growth[#growth + 1] = { type = t, before = b, after = c, delta = c - b,
        bytes_before = before.bytes[t] or 0, bytes_after = after.bytes[t],
        bytes_delta = after.bytes[t] - (before.bytes[t] or 0), series = series }
    end
  end
  table.sort(growth, function(x, y)
    if x.delta ~= y.delta then return x.delta > y.delta end
    if x.bytes_delta ~= y.bytes_delta then return x.bytes_delta > y.bytes_delta end
    return x.type < y.type
  end)
  for k = #growth, top + 1, -1 do growth[k] = nil end

  local chains = {}
  for k = 1, math.min(nchains, #growth) do chains[k] = explain(growth[k].type, budget, os.clock) end

  local longest = {}
  for k, e in ipairs(events) do longest[k] = e end
  table.sort(longest, function(x, y)
    if x.duration ~= y.duration then return x.duration > y.duration end
    return x.seq < y.seq
  end)
  for k = #longest, nlongest + 1, -1 do longest[k] = nil end

  local tm = { tracing = tracemalloc.is_tracing(), was_tracing_at_start = rec.tracing_at_start, top = {} }
  if tm.tracing then
    local current, peak = tracemalloc.get_traced_memory()
    tm.current, tm.peak = current, peak
    for k, st in ipairs(tracemalloc.take_snapshot():statistics("lineno")) do
      if k > ntm then break end
      tm.top[k] = { where = tostring(st.traceback), size = st.size, count = st.count }
    end
  end

  local nreads = 0
  for _, e in ipairs(events) do if e.bytes then nreads = nreads + 1 end end
  local hi = gc.heap_info()
  local totals = {}
  for g = 1, 3 do
    local t = rec.totals[g]
    totals[g] = { collections = t.collections, collected = t.collected, uncollectable = t.uncollectable,
      pause = t.pause, longest = t.longest }
  end
  return {
    title = title, running = rec.running, capacity = rec.capacity, sample = rec.sample,
    started_at = rec.started_at, elapsed = (rec.running and rec.clock() - rec.t0) or rec.t_stop,
    recorded = rec.recorded, dropped = rec.recorded - #events, events = events, totals = totals,
    read_budget = rec.read_budget, reads = nreads,
    heap = { start = rec.heap_start, now = { objects = hi.objects, tracked = hi.tracked, bytes = hi.bytes,
      peak_bytes = hi.peak_bytes } },
    samples = samples, growth = growth, chains = chains,
    pauses = { histogram = histogram(events), longest = longest },
    tracemalloc = tm, settings = settings(),
  }
end

--- The figures of the recording as a Lua table (the README shows its shape).
-- @tparam[opt] table opts `top` (growing types listed, 10), `chains`
-- (why_alive chains for the top growing types, 3), `budget` (seconds per
-- chain, 1), `longest` (pauses listed, 10), `collect` (a full collection
-- before the final sample, true), `tracemalloc` (statistics lines, 10)
-- @treturn table `events`, `totals`, `heap`, `samples`, `growth`, `chains`,
-- `pauses`, `tracemalloc`, `settings`, and the recording's figures
function M.summary(opts) return summary("summary", 1, opts) end

-- ---- the HTML report ---------------------------------------------------------------

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local function esc(s)
  s = tostring(s)
  -- bytes that are not valid UTF-8 become U+FFFD so the page stays well formed
  if not utf8.len(s) then
    local out, i = {}, 1
    while i <= #s do
      local ok, c = pcall(utf8.codepoint, s, i)
      if ok then
        local ch = utf8.char(c); out[#out + 1] = ch; i = i + #ch
      else
        out[#out + 1] = "\u{FFFD}"; i = i + 1
      end
    end
    s = table.concat(out)
  end
  return (s:gsub("[&<>\"']", ESC):gsub("[%z\1-\8\11\12\14-\31\127]", "\u{FFFD}"))
end
M._escape = esc

local function fmt_bytes(b)
  local a = math.abs(b)
  if a >= 1048576 then return ("%.1f MB"):format(b / 1048576) end
  if a >= 1024 then return ("%.1f kB"):format(b / 1024) end
  return ("%d B"):format(b)
end

local function fmt_dur(s)
  if s >= 1 then return ("%.2f s"):format(s) end
  if s >= 1e-3 then return ("%.2f ms"):format(s * 1e3) end
  return ("%.0f µs"):format(s * 1e6)
end

local function fmt_count(n)
  local s = tostring(math.floor(n))
  local sign, digits = s:match("^(-?)(%d+)$")
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. digits
end

local function fmt_delta(n, f) return (n >= 0 and "+" or "−") .. (f or fmt_count)(math.abs(n)) end

local GEN_COLOR = { [0] = "#9aa5b1", "#f0a030", "#d64545" }

local CSS = [[
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1f2933;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{background:#1f2933;color:#f5f7fa;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#cbd2d9;font-size:13px}
main{max-width:1160px;margin:0 auto;padding:14px 20px 30px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 20px 16px;margin:0 0 14px}
h2{margin:0 0 8px;font-size:17px;font-weight:600}
h2 small{font-weight:400;color:#616e7c;font-size:13px;margin-left:8px}
.kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{flex:1 1 150px;background:#f5f7fa;border-radius:6px;padding:8px 12px}
.kpi b{display:block;font-size:18px;font-weight:600;white-space:nowrap}
.kpi span{color:#616e7c;font-size:12px}
.kpi.bad{background:#fde8e8}.kpi.bad b{color:#b42318}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:middle}
th{color:#52606d;font-weight:600;background:#f5f7fa}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.up{color:#b42318;font-weight:600}
code,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.legend{display:flex;gap:16px;font-size:12px;color:#52606d;margin:2px 0 4px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}
.chain{margin:8px 0 14px;padding:10px 12px;border-left:4px solid #d64545;background:#fffafa;border-radius:4px}
.chain h3{margin:0 0 8px;font-size:14px;font-weight:600}
.path{display:flex;flex-wrap:wrap;align-items:center;gap:4px 0}
.step{display:inline-block;padding:4px 9px;border-radius:14px;font-family:"DejaVu Sans Mono",Menlo,monospace;font-size:13px;white-space:nowrap}
.step.root{background:#dbeafe;color:#1e3a8a;border:1px solid #93c5fd}
.step.obj{background:#eef0f3;color:#1f2933;border:1px solid #cbd2d9}
.step.target{background:#d64545;color:#fff;border:1px solid #b42318;font-weight:600}
.step em{font-style:normal;color:#7b8794;margin-left:3px}
.step.target em{color:#ffe3e3}
.arrow{color:#7b8794;padding:0 6px;font-size:15px}
.note{color:#616e7c;font-size:12.5px;margin-top:6px}
.muted{color:#7b8794}
.finding{margin:10px 0 0;padding:8px 12px;background:#fff4e5;border-radius:6px;border:1px solid #f7c97e}
dl.settings{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:0}
dl.settings dt{color:#52606d}dl.settings dd{margin:0}
svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
]]

-- A line chart of one series over time with the collections marked below.
local function heap_chart(all, field, label, fmt, color)
  local W, H, L, Rm, T, B = 1110, 200, 70, 12, 12, 52
  local pw, ph = W - L - Rm, H - T - B
  local parts = {}
  local function add(s) parts[#parts + 1] = s end
  add(('<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">')
    :format(W, H, W, H, esc(label)))
  -- x from every event (all are marked below); the line from those with a reading
  local xs, events = {}, {}
  local t0, t1 = all[1] and all[1].time, all[#all] and all[#all].time
  local use_index = not (#all > 0 and t1 > t0)
  for k, e in ipairs(all) do
    local f
    if use_index then f = #all > 1 and (k - 1) / (#all - 1) or 0.5 else f = (e.time - t0) / (t1 - t0) end
    xs[k] = math.floor(L + f * pw + 0.5)
    if e[field] then events[#events + 1] = e; e._x = xs[k] end
  end
  if #events == 0 then
    add(('<text x="%d" y="%d" fill="#7b8794">%s</text></svg>'):format(L, T + ph / 2,
      #all == 0 and "no collection recorded yet" or "no heap reading recorded (see read_budget)"))
    return table.concat(parts)
  end
  local vmax = 0
  for _, e in ipairs(events) do if e[field] > vmax then vmax = e[field] end end
  if vmax == 0 then vmax = 1 end
  -- a round top for the axis, in the unit the labels use (kB and MB are 1024-based)
  local unit = 1
  if fmt == fmt_bytes then unit = vmax >= 1048576 and 1048576 or vmax >= 1024 and 1024 or 1 end
  local u = vmax / unit
  local mag = 10 ^ math.floor(math.log(u, 10))
  local top, steps
  for _, m in ipairs({ { 1, 5 }, { 2, 4 }, { 2.5, 5 }, { 4, 4 }, { 5, 5 }, { 8, 4 }, { 10, 5 } }) do
    if m[1] * mag >= u then top, steps = m[1] * mag * unit, m[2]; break end
  end
  local function yof(v) return T + ph - v / top * ph end
  -- grid and y labels
  for k = 0, steps do
    local v = top * k / steps
    local y = yof(v)
    add(('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e7eb"/>'):format(L, L + pw, y, y))
    add(('<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#616e7c">%s</text>'):format(L - 6, y + 4, esc(fmt(v))))
  end
  -- the series, one point per pixel column at most (its highest value)
  local cols, order = {}, {}
  for _, e in ipairs(events) do
    local x = e._x
    e._x = nil
    local c = cols[x]
    if not c then cols[x] = e[field]; order[#order + 1] = x
    elseif e[field] > c then cols[x] = e[field] end
  end
  local pts = {}
  for _, x in ipairs(order) do pts[#pts + 1] = ("%d,%.1f"):format(x, yof(cols[x])) end
  local base = T + ph
  add(('<polygon points="%d,%.1f %s %d,%.1f" fill="%s" fill-opacity="0.16"/>'):format(order[1], base,
    table.concat(pts, " "), order[#order], base, color))
  add(('<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"/>')
    :format(table.concat(pts, " "), color))
  -- collection marks: a strip below the axis, one row per generation
  local seen = {}
  for k, e in ipairs(all) do
    local x = xs[k]
    local key = x * 4 + e.generation
    if not seen[key] then
      seen[key] = true
      local y = base + 5 + e.generation * 10
      add(('<rect x="%d" y="%d" width="2" height="7" fill="%s"><title>%s at %s: %s freed, %s</title></rect>')
        :format(x - 1, y, GEN_COLOR[e.generation], esc(e.kind), fmt_dur(e.time), fmt_count(e.collected),
          fmt_dur(e.duration)))
    end
  end
  for g = 0, 2 do
    add(('<text x="%d" y="%d" text-anchor="end" font-size="10" fill="#7b8794">%s</text>')
      :format(L - 6, base + 12 + g * 10, esc(KIND[all[#all].mode == "incremental" and MODE_INC or MODE_GEN][g])))
  end
  -- x labels
  for k = 0, 5 do
    local x = L + pw * k / 5
    local v
    if use_index then v = "#" .. math.floor(all[1].seq + (all[#all].seq - all[1].seq) * k / 5)
    else v = fmt_dur(t0 + (t1 - t0) * k / 5) end
    add(('<text x="%.1f" y="%d" text-anchor="%s" font-size="11" fill="#616e7c">%s</text>'):format(x, H - 4,
      k == 0 and "start" or k == 5 and "end" or "middle", esc(v)))
  end
  add(('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#9aa5b1"/>'):format(L, L + pw, base, base))
  add("</svg>")
  return table.concat(parts)
end

local function pause_chart(bins)
  local W, H, L, T, B = 1110, 190, 50, 10, 34
  local parts = {}
  local function add(s) parts[#parts + 1] = s end
  add(('<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="pause durations">')
    :format(W, H, W, H))
  if #bins == 0 then
    add(('<text x="%d" y="%d" fill="#7b8794">no collection recorded yet</text></svg>'):format(L, H / 2))
    return table.concat(parts)
  end
  local cmax = 1
  for _, b in ipairs(bins) do for g = 1, 3 do if b.counts[g] > cmax then cmax = b.counts[g] end end end
  local pw, ph = W - L - 10, H - T - B
  local bw = pw / #bins
  local barw = math.max(2, math.min(22, (bw - 8) / 3))
  for k = 0, 4 do
    local y = T + ph - ph * k / 4
    add(('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e7eb"/>'):format(L, L + pw, y, y))
    add(('<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#616e7c">%s</text>')
      :format(L - 6, y + 4, fmt_count(cmax * k / 4)))
  end
  for k, b in ipairs(bins) do
    local cx = L + (k - 0.5) * bw
    for g = 1, 3 do
      local c = b.counts[g]
      if c > 0 then
        local h = math.max(1, c / cmax * ph)
        add(('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>gen %d, %s–%s: %d</title></rect>')
          :format(cx + (g - 2.5) * barw, T + ph - h, barw - 1, h, GEN_COLOR[g - 1], g - 1, fmt_dur(b.lo), fmt_dur(b.hi), c))
      end
    end
    add(('<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#616e7c">%s–%s</text>')
      :format(cx, H - 14, esc(b.lo == 0 and "0" or fmt_dur(b.lo)), esc(fmt_dur(b.hi))))
  end
  add(('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#9aa5b1"/>'):format(L, L + pw, T + ph, T + ph))
  add("</svg>")
  return table.concat(parts)
end

local function sparkline(series, color)
  local W, H = 160, 26
  local vmax, vmin = 1, 0 -- from zero, so that a dip reads as small as it is
  for _, v in ipairs(series) do vmax = math.max(vmax, v) end
  local pts = {}
  for k, v in ipairs(series) do
    local x = #series > 1 and 2 + (k - 1) / (#series - 1) * (W - 4) or W / 2
    pts[#pts + 1] = ("%.1f,%.1f"):format(x, H - 3 - (v - vmin) / (vmax - vmin) * (H - 6))
  end
  return ('<svg width="%d" height="%d" viewBox="0 0 %d %d"><polyline points="%s" fill="none" stroke="%s" stroke-width="2"/></svg>')
    :format(W, H, W, H, table.concat(pts, " "), color)
end

-- "_G.app.cache -> <list>[3] -> <Session>.conn -> <Socket>" as chips
local function chain_html(chain)
  local steps = {}
  for part in (chain .. " -> "):gmatch("(.-) %-> ") do steps[#steps + 1] = part end
  local out = { '<div class="path">' }
  for k, s in ipairs(steps) do
    if k > 1 then out[#out + 1] = '<span class="arrow">→</span>' end
    local cls = k == 1 and "root" or (k == #steps and "target" or "obj")
    local name, edge = s:match("^(<.->)(.*)$")
    if k == 1 or not name then
      out[#out + 1] = ('<span class="step %s">%s</span>'):format(cls, esc(s))
    elseif edge ~= "" then
      out[#out + 1] = ('<span class="step %s">%s<em>%s</em></span>'):format(cls, esc(name), esc(edge))
    else
      out[#out + 1] = ('<span class="step %s">%s</span>'):format(cls, esc(name))
    end
  end
  out[#out + 1] = "</div>"
  return table.concat(out)
end

local function render(s)
  local h = {}
  local function add(x) h[#h + 1] = x end
  local ncoll, pause, freed, unc = 0, 0, 0, 0
  for g = 1, 3 do
    local t = s.totals[g]
    ncoll = ncoll + t.collections; pause = pause + t.pause; freed = freed + t.collected; unc = unc + t.uncollectable
  end
  local grew = s.heap.now.bytes - s.heap.start.bytes
  add('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">')
  -- the page may load nothing at all: no script, no font, no image
  add([[<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">]])
  add('<meta name="viewport" content="width=device-width, initial-scale=1">')
  add(("<title>%s</title><style>%s</style></head><body>"):format(esc(s.title), CSS))
  add(('<header><h1>%s</h1><div class="meta">recorded %s · %s of CPU time · %s collections kept of %s (ring of %s) · %s collector</div></header><main>')
    :format(esc(s.title), esc(os.date("!%Y-%m-%d %H:%M:%S UTC", s.started_at)), esc(fmt_dur(s.elapsed or 0)),
      fmt_count(#s.events), fmt_count(s.recorded), fmt_count(s.capacity), esc(s.settings.mode)))

  -- overview
  local g1 = s.growth[1]
  add('<section id="overview"><h2>Overview</h2><div class="kpis">')
  add(('<div class="kpi%s"><b>%s → %s</b><span>heap bytes, start → now (%s)</span></div>')
    :format(grew > 0 and " bad" or "", fmt_bytes(s.heap.start.bytes), fmt_bytes(s.heap.now.bytes), fmt_delta(grew, fmt_bytes)))
  add(('<div class="kpi"><b>%s → %s</b><span>live objects, start → now</span></div>')
    :format(fmt_count(s.heap.start.objects), fmt_count(s.heap.now.objects)))
  if g1 then
    add(('<div class="kpi bad"><b>%s %s</b><span>grew most since start (%s → %s objects)</span></div>')
      :format(esc(g1.type), fmt_delta(g1.delta), fmt_count(g1.before), fmt_count(g1.after)))
  end
  add(('<div class="kpi"><b>%s</b><span>collections: %s gen0, %s gen1, %s gen2</span></div>')
    :format(fmt_count(ncoll), fmt_count(s.totals[1].collections), fmt_count(s.totals[2].collections),
      fmt_count(s.totals[3].collections)))
  add(('<div class="kpi"><b>%s</b><span>total pause (longest %s); %s freed, %s uncollectable</span></div>')
    :format(fmt_dur(pause), fmt_dur(math.max(s.totals[1].longest, s.totals[2].longest, s.totals[3].longest)),
      fmt_count(freed), fmt_count(unc)))
  add("</div>")
  local c1 = s.chains[1]
  if g1 and c1 then
    add(('<p class="finding"><b>Most growth:</b> <code>%s</code> %s objects (%s) since monitor.start()%s</p>')
      :format(esc(g1.type), fmt_delta(g1.delta), fmt_delta(g1.bytes_delta, fmt_bytes),
        c1.chain and (", held from Lua by <code>" .. esc(c1.chain:match("^(.-) %->") or c1.chain) .. "</code>") or ""))
  end
  add("</section>")

  -- timeline
  add('<section id="timeline"><h2>Heap over time<small>after each collection; marks below the axis are the collections, one row per generation</small></h2>')
  add('<div class="legend"><span><i style="background:#2563eb"></i>heap bytes</span><span><i style="background:#0f9d8a"></i>live objects</span>')
  for g = 0, 2 do add(('<span><i style="background:%s"></i>gen %d collection</span>'):format(GEN_COLOR[g], g)) end
  add("</div>")
  add(heap_chart(s.events, "bytes", "heap bytes over time", fmt_bytes, "#2563eb"))
  add(heap_chart(s.events, "objects", "live objects over time", fmt_count, "#0f9d8a"))
  if s.reads < #s.events then
    add(('<p class="note">The heap was read after %s of these %s collections: reading walks the heap, so reads are paced to take at most %g%% of the run (read_budget).</p>')
      :format(fmt_count(s.reads), fmt_count(#s.events), s.read_budget * 100))
  end
  if s.dropped > 0 then
    add(('<p class="note">The ring kept the last %s collections; %s earlier ones are counted in the totals only.</p>')
      :format(fmt_count(#s.events), fmt_count(s.dropped)))
  end
  add("</section>")

  -- growth
  add('<section id="growth"><h2>Types that grew<small>tracked objects per type at monitor.start() and now')
  add(s.sample > 0 and (", with a sample every %d collections"):format(s.sample) or "")
  add("</small></h2>")
  if #s.growth == 0 then
    add('<p class="muted">No type has more objects now than when recording started.</p>')
  else
    add('<table><tr><th>type</th><th class="n">at start</th><th class="n">now</th><th class="n">change</th><th class="n">bytes change</th><th>over the run</th></tr>')
    for _, g in ipairs(s.growth) do
      add(('<tr><td><code>%s</code></td><td class="n">%s</td><td class="n">%s</td><td class="n up">%s</td><td class="n">%s</td><td>%s</td></tr>')
        :format(esc(g.type), fmt_count(g.before), fmt_count(g.after), fmt_delta(g.delta), fmt_delta(g.bytes_delta, fmt_bytes),
          sparkline(g.series, "#d64545")))
    end
    add("</table>")
  end
  add("</section>")

  -- chains
  add('<section id="chains"><h2>Why are they alive?<small>for one object of each type that grew most: the shortest chain from a Lua value into the heap (pygc.util.why_alive)</small></h2>')
  if #s.chains == 0 then add('<p class="muted">No type grew, so there is nothing to explain.</p>') end
  for _, c in ipairs(s.chains) do
    add(('<div class="chain"><h3>A <code>%s</code> is alive because:</h3>'):format(esc(c.type)))
    if c.chain then add(chain_html(c.chain)) end
    if c.note then add(('<p class="note">%s</p>'):format(esc(c.note))) end
    if c.repr then
      add(('<p class="note">object: <code>%s</code>%s</p>'):format(esc(c.repr),
        c.traceback and (" · made at <code>" .. esc(c.traceback) .. "</code>") or ""))
    end
    add("</div>")
  end
  add("</section>")

  -- pauses
  add('<section id="pauses"><h2>Pauses<small>collection durations by generation (bins with round edges: 1, 2, 5, 10 µs, ...)</small></h2>')
  add('<div class="legend">')
  for g = 0, 2 do add(('<span><i style="background:%s"></i>gen %d</span>'):format(GEN_COLOR[g], g)) end
  add("</div>")
  add(pause_chart(s.pauses.histogram))
  if #s.pauses.longest > 0 then
    add('<h2 style="font-size:14px;margin-top:8px">Longest pauses</h2><table id="longest"><tr><th class="n">#</th><th class="n">at</th><th>collection</th><th class="n">duration</th><th class="n">candidates</th><th class="n">collected</th><th class="n">uncollectable</th><th class="n">heap after</th></tr>')
    for _, e in ipairs(s.pauses.longest) do
      add(('<tr><td class="n">%d</td><td class="n">%s</td><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td></tr>')
        :format(e.seq, fmt_dur(e.time), esc(e.kind), fmt_dur(e.duration), fmt_count(e.candidates),
          fmt_count(e.collected), fmt_count(e.uncollectable), e.bytes and fmt_bytes(e.bytes) or "—"))
    end
    add("</table>")
  end
  add("</section>")

  -- tracemalloc
  add('<section id="tracemalloc"><h2>Where the live objects were made<small>pygc.tracemalloc, by line</small></h2>')
  if not s.tracemalloc.tracing then
    add('<p class="muted">tracemalloc was not tracing when the report was made; call <code>require("pygc.tracemalloc").start()</code> before <code>monitor.start()</code> to see the lines that made the live objects.</p>')
  elseif #s.tracemalloc.top == 0 then
    add('<p class="muted">tracemalloc is tracing, but no traced object is alive.</p>')
  else
    add(('<p class="note">traced memory now %s, peak %s</p>'):format(fmt_bytes(s.tracemalloc.current), fmt_bytes(s.tracemalloc.peak)))
    add('<table><tr><th>where</th><th class="n">size</th><th class="n">count</th><th class="n">average</th></tr>')
    for _, t in ipairs(s.tracemalloc.top) do
      add(('<tr><td><code>%s</code></td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td></tr>')
        :format(esc(t.where), fmt_bytes(t.size), fmt_count(t.count), fmt_bytes(t.count > 0 and t.size // t.count or 0)))
    end
    add("</table>")
  end
  add("</section>")

  -- settings
  local st = s.settings
  add('<section id="settings"><h2>Collector settings<small>when the report was made</small></h2><dl class="settings">')
  local rows = {
    { "mode", st.mode }, { "automatic collection", st.enabled and "enabled" or "disabled" },
    { "thresholds", ("%d, %d, %d"):format(st.thresholds[1], st.thresholds[2], st.thresholds[3]) },
    { "counts", ("%d, %d, %d"):format(st.counts[1], st.counts[2], st.counts[3]) },
    { "debug flags", st.debug == 0 and "0 (none)" or ("%d (%s)"):format(st.debug, table.concat(st.debug_flags, " | ")) },
    { "frozen objects", fmt_count(st.frozen) },
    { "heap now", ("%s, %s objects (%s tracked), peak %s"):format(fmt_bytes(s.heap.now.bytes), fmt_count(s.heap.now.objects),
      fmt_count(s.heap.now.tracked), fmt_bytes(s.heap.now.peak_bytes)) },
    { "recorder", ("ring of %s collections, %s"):format(fmt_count(s.capacity),
      s.sample > 0 and ("per-type sample every %d collections"):format(s.sample) or "per-type sampling off") },
  }
  for _, r in ipairs(rows) do add(("<dt>%s</dt><dd>%s</dd>"):format(esc(r[1]), esc(r[2]))) end
  add("</dl></section>")
  add('</main></body></html>\n')
  return table.concat(h)
end
M._render = render

--- Write the report of the recording to path (one HTML file that needs
-- nothing else).
-- @string path where to write the HTML
-- @tparam[opt] table opts as `summary`'s, plus `title`
-- @treturn string path
-- @treturn table the summary it drew
function M.report(...)
  local path, opts = ...
  if type(path) ~= "string" then
    argerror(1, "report", "string expected, got " .. (select("#", ...) == 0 and "no value" or typename(path)))
  end
  local s = summary("report", 2, opts)
  local html = render(s)
  local f, err = io.open(path, "w")
  if not f then error("pygc.monitor: cannot write the report: " .. tostring(err), 2) end
  f:write(html)
  f:close()
  return path, s
end

return M
