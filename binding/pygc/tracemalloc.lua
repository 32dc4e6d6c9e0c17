--- Python's tracemalloc for the pygc heap: where (in Lua source) the live
-- pygc objects were made, and how much they occupy.
--
--     local tm = require "pygc.tracemalloc"
--     tm.start(5)                         -- keep 5 Lua frames per object
--     ...
--     local snap = tm.take_snapshot()
--     for _, stat in ipairs(snap:statistics("lineno")) do print(stat) end
--     local diff = tm.take_snapshot():compare_to(snap, "filename")
--
-- Sizes are `gc.sizeof` at snapshot time; `get_traced_memory()` counts sizes
-- at allocation (as tracemalloc counts blocks when they are made). Frames
-- are recorded in C, in the allocation hook.
-- @module pygc.tracemalloc
local gc = require "pygc"

local M = {}

--- Tracing
-- @section tracing

--- Start tracing: record where each new pygc object is made.
-- @int[opt=1] nframes how many Lua frames to keep per object
function M.start(nframes) gc._trace_start(nframes or 1) end
--- Stop tracing (the traces are kept until `clear_traces`).
function M.stop() gc._trace_stop() end
--- Forget every trace.
function M.clear_traces() gc._trace_clear() end
--- Whether tracing is on.
-- @treturn boolean
function M.is_tracing() return (gc._trace_info()) end
--- How many frames each trace keeps (`start`'s nframes).
-- @treturn integer
function M.get_traceback_limit() return select(4, gc._trace_info()) end

--- Current and peak bytes of the traced objects (sizes when made).
-- @treturn integer current
-- @treturn integer peak
function M.get_traced_memory()
  local _, current, peak = gc._trace_info()
  return current, peak
end

-- ---- tracebacks --------------------------------------------------------------------

--- Where an object was made: a sequence of frames `{filename =, lineno =}`,
-- most recent call first; `tostring` joins them as `file:line <- ...`.
-- @type Traceback
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

--- Lines of the traceback, most recent call first: `  File "x.lua", line 3`.
-- @treturn {string,...} the lines
function Traceback:format()
  local out = {}
  for _, f in ipairs(self) do out[#out + 1] = ('  File "%s", line %d'):format(f.filename, f.lineno) end
  return out
end

--- Objects
-- @section objects

--- The traceback where obj was made.
-- @param obj a handle
-- @treturn ?Traceback nil when obj was not traced
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

--- Filters
-- @section filters

--- Make a filter that keeps (inclusive) or drops the traces whose file
-- matches a glob pattern (`*`, `?`); called as `tracemalloc.Filter(...)`.
-- @bool inclusive keep (true) or drop (false) what matches
-- @string filename_pattern a glob pattern
-- @int[opt] lineno only this line
-- @bool[opt=false] all_frames match any frame, not only the most recent
-- @treturn Filter
function M.Filter(inclusive, filename_pattern, lineno, all_frames)
  return setmetatable({ inclusive = inclusive, filename_pattern = filename_pattern, pattern = glob(filename_pattern),
    lineno = lineno, all_frames = all_frames or false }, Filter)
end
setmetatable(Filter, { __call = function(_, ...) return M.Filter(...) end })

--- A filter for `Snapshot:filter_traces`: fields `inclusive`,
-- `filename_pattern`, `pattern` (the glob as a Lua pattern), `lineno`,
-- `all_frames`.
-- @type Filter

--- Whether the filter's pattern matches a traceback.
-- @tparam Traceback tb
-- @treturn boolean
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

--- Snapshots
-- @section snapshots

--- Take a snapshot of the traces (tracing must be on).
-- @treturn Snapshot
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

--- The traces of the live traced objects at one moment: `traces`, a
-- sequence of `{traceback =, size =, count =}`, and `traceback_limit`.
-- @type Snapshot

--- A new snapshot with only the traces the filters keep: as tracemalloc,
-- a trace is kept when some inclusive filter matches it (or there is none)
-- and no exclusive filter does.
-- @tparam {Filter,...} filters
-- @treturn Snapshot
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

-- One group of `Snapshot:statistics`: `traceback`, `size`, `count`;
-- `tostring` gives `file:line: size=N B, count=N, average=N B`.
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

--- Statistics grouped by `"filename"`, `"lineno"` or `"traceback"`, biggest
-- first.  With cumulative, every frame of a traceback counts (lineno and
-- filename only).
-- @string[opt="lineno"] key_type
-- @bool[opt] cumulative
-- @treturn {table,...} statistics: `traceback`, `size`, `count`
-- (`tostring` gives `file:line: size=N B, count=N, average=N B`)
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

--- What changed since an older snapshot, biggest change first.
-- @tparam Snapshot old
-- @string[opt="lineno"] key_type
-- @bool[opt] cumulative
-- @treturn {table,...} differences: `traceback`, `size`, `size_diff`,
-- `count`, `count_diff` (`tostring` gives `file:line: size=N B (+N B), count=N (+N)`)
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
