-- pygc.tracemalloc -- Python's tracemalloc for the pygc heap: where (in
-- Lua source) the live pygc objects were made, and how much they occupy.
--
--   local tm = require "pygc.tracemalloc"
--   tm.start(5)                         -- keep 5 Lua frames per object
--   ...
--   local snap = tm.take_snapshot()
--   for _, stat in ipairs(snap:statistics("lineno")) do print(stat) end
--   local diff = tm.take_snapshot():compare_to(snap, "filename")
--
-- Sizes are gc.sizeof at snapshot time; get_traced_memory() counts sizes
-- at allocation (as tracemalloc counts blocks when they are made).
local gc = require "pygc"

local M = {}

function M.start(nframes) gc._trace_start(nframes or 1) end
function M.stop() gc._trace_stop() end
function M.clear_traces() gc._trace_clear() end
function M.is_tracing() return (gc._trace_info()) end
function M.get_traceback_limit() return select(4, gc._trace_info()) end

-- current and peak bytes of the traced objects (sizes when made)
function M.get_traced_memory()
  local _, current, peak = gc._trace_info()
  return current, peak
end

-- ---- tracebacks --------------------------------------------------------------------

local Traceback = {}
Traceback.__index = Traceback
Traceback.__tostring = function(tb)
  local parts = {}
  for _, f in ipairs(tb) do parts[#parts + 1] = ("%s:%d"):format(f.filename, f.lineno) end
  return table.concat(parts, " <- ")
end
Traceback.__eq = function(a, b) return tostring(a) == tostring(b) end

local function traceback(frames)
  local tb = {}
  for i, f in ipairs(frames) do tb[i] = { filename = f[1], lineno = f[2] } end
  return setmetatable(tb, Traceback)
end

-- Lines of the traceback, most recent call first.
function Traceback:format()
  local out = {}
  for _, f in ipairs(self) do out[#out + 1] = ('  File "%s", line %d'):format(f.filename, f.lineno) end
  return out
end

-- The traceback where obj was made, or nil (not traced).
function M.get_object_traceback(obj)
  local frames = gc._trace_object(obj)
  return frames and traceback(frames) or nil
end

-- ---- filters -------------------------------------------------------------------

-- A glob pattern (*, ?) as a Lua pattern, anchored.
local function glob(pattern)
  local p = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".")
  return "^" .. p .. "$"
end

local Filter = {}
Filter.__index = Filter
M.Filter = Filter

-- Filter(inclusive, filename_pattern [, lineno [, all_frames]]): keep
-- (inclusive) or drop the traces whose file matches the glob pattern.
function M.Filter(inclusive, filename_pattern, lineno, all_frames)
  return setmetatable({ inclusive = inclusive, filename_pattern = filename_pattern, pattern = glob(filename_pattern),
    lineno = lineno, all_frames = all_frames or false }, Filter)
end
setmetatable(Filter, { __call = function(_, ...) return M.Filter(...) end })

function Filter:matches(tb)
  local frames = self.all_frames and tb or { tb[1] }
  for _, f in ipairs(frames) do
    if f and f.filename:match(self.pattern) and (self.lineno == nil or self.lineno == f.lineno) then return true end
  end
  return false
end

-- ---- snapshots and statistics ------------------------------------------------------------

local Snapshot = {}
Snapshot.__index = Snapshot
M.Snapshot = Snapshot

function M.take_snapshot()
  assert(M.is_tracing(), "the tracemalloc module must be tracing memory to take a snapshot")
  local raw = gc._trace_snapshot()
  local traces = {}
  for i, frames in ipairs(raw.traces) do
    if raw.counts[i] > 0 then
      traces[#traces + 1] = { traceback = traceback(frames), size = raw.sizes[i], count = raw.counts[i] }
    end
  end
  return setmetatable({ traces = traces, traceback_limit = M.get_traceback_limit() }, Snapshot)
end

-- A new snapshot with only the traces the filters keep (inclusive filters
-- must all match one of... as tracemalloc: any inclusive, no exclusive).
function Snapshot:filter_traces(filters)
  local inc, exc = {}, {}
  for _, f in ipairs(filters) do (f.inclusive and inc or exc)[#(f.inclusive and inc or exc) + 1] = f end
  local kept = {}
  for _, t in ipairs(self.traces) do
    local ok = #inc == 0
    for _, f in ipairs(inc) do if f:matches(t.traceback) then ok = true; break end end
    for _, f in ipairs(exc) do if f:matches(t.traceback) then ok = false; break end end
    if ok then kept[#kept + 1] = t end
  end
  return setmetatable({ traces = kept, traceback_limit = self.traceback_limit }, Snapshot)
end

local Statistic = {}
Statistic.__index = Statistic
Statistic.__tostring = function(s)
  return ("%s: size=%d B, count=%d, average=%d B"):format(tostring(s.traceback), s.size, s.count,
    s.count > 0 and s.size // s.count or 0)
end

local function group_key(tb, key_type)
  if key_type == "traceback" then return tostring(tb), tb end
  local top = tb[1] or { filename = "<unknown>", lineno = 0 }
  if key_type == "filename" then
    return top.filename, setmetatable({ { filename = top.filename, lineno = 0 } }, Traceback)
  end
  return top.filename .. ":" .. top.lineno, setmetatable({ { filename = top.filename, lineno = top.lineno } }, Traceback)
end

-- Statistics grouped by "filename", "lineno" or "traceback", biggest
-- first.  With cumulative, every frame of a traceback counts (lineno and
-- filename only).
function Snapshot:statistics(key_type, cumulative)
  key_type = key_type or "lineno"
  assert(key_type == "filename" or key_type == "lineno" or key_type == "traceback", "unknown key_type: " .. tostring(key_type))
  local groups, order = {}, {}
  local function add(key, tb, t)
    local g = groups[key]
    if not g then
      g = setmetatable({ traceback = tb, size = 0, count = 0 }, Statistic)
      groups[key] = g
      order[#order + 1] = g
    end
    g.size = g.size + t.size
    g.count = g.count + t.count
  end
  for _, t in ipairs(self.traces) do
    if cumulative and key_type ~= "traceback" then
      local done = {}
      for i = 1, #t.traceback do
        local key, tb = group_key(setmetatable({ t.traceback[i] }, Traceback), key_type)
        if not done[key] then done[key] = true; add(key, tb, t) end
      end
    else
      local key, tb = group_key(t.traceback, key_type)
      add(key, tb, t)
    end
  end
  table.sort(order, function(a, b)
    if a.size ~= b.size then return a.size > b.size end
    return tostring(a.traceback) < tostring(b.traceback)
  end)
  return order
end

local StatisticDiff = {}
StatisticDiff.__index = StatisticDiff
StatisticDiff.__tostring = function(s)
  return ("%s: size=%d B (%+d B), count=%d (%+d)"):format(tostring(s.traceback), s.size, s.size_diff, s.count, s.count_diff)
end

-- What changed since old: StatisticDiffs with size, size_diff, count,
-- count_diff, biggest change first.
function Snapshot:compare_to(old, key_type, cumulative)
  local now, before = {}, {}
  for _, s in ipairs(self:statistics(key_type, cumulative)) do now[tostring(s.traceback)] = s end
  for _, s in ipairs(old:statistics(key_type, cumulative)) do before[tostring(s.traceback)] = s end
  local out = {}
  for k, s in pairs(now) do
    local b = before[k]
    out[#out + 1] = setmetatable({ traceback = s.traceback, size = s.size, count = s.count,
      size_diff = s.size - (b and b.size or 0), count_diff = s.count - (b and b.count or 0) }, StatisticDiff)
  end
  for k, b in pairs(before) do
    if not now[k] then
      out[#out + 1] = setmetatable({ traceback = b.traceback, size = 0, count = 0, size_diff = -b.size,
        count_diff = -b.count }, StatisticDiff)
    end
  end
  table.sort(out, function(a, b)
    if math.abs(a.size_diff) ~= math.abs(b.size_diff) then return math.abs(a.size_diff) > math.abs(b.size_diff) end
    return tostring(a.traceback) < tostring(b.traceback)
  end)
  return out
end

return M
