--- Python's tracemalloc for the pygc heap: where (in
-- Lua source) the live pygc objects were made, and how much they occupy.
--
--   local tm = require "pygc.tracemalloc"
--   tm.start(5)                         -- keep 5 Lua frames per object
--   ...
--   local snap = tm.take_snapshot()
--   for _, stat in ipairs(snap:statistics("lineno")) do print(stat) end
--   local diff = tm.take_snapshot():compare_to(snap, "filename")
--   print(snap:report("lineno", 10))
--   snap:dump("before.snap"); local again = tm.load("before.snap")
--
-- Sizes are gc.sizeof at snapshot time; get_traced_memory() counts sizes
-- at allocation (as tracemalloc counts blocks when they are made).
--
-- Traces.  A snapshot's `traces` is a sequence of `{ traceback = Traceback,
-- size = bytes, count = objects, domain = integer }`: the live traced
-- objects grouped by the traceback where they were made (Python keeps one
-- trace per block; pygc groups equal tracebacks, hence `count`).  Objects
-- of the pygc heap are domain 0 (Python's domain of its own allocator);
-- other domains come only from loaded or hand-made snapshots.  A traceback
-- is a sequence of frames `{ filename = short_src, lineno = line }`, most
-- recent call first (an object made from C with no Lua frame has none).
--
-- Errors.  Bad arguments raise in luaL_argerror's wording naming the public
-- function, positioned at the caller's line.
-- @module pygc.tracemalloc
local gc = require "pygc"

local M = {}

-- ---- arguments and errors -------------------------------------------------------

local Fail = {}
local function fail(msg) error(setmetatable({ msg = msg }, Fail), 0) end

-- wrap impl so that its argument errors point at the caller
local function guarded(impl)
  return function(...)
    local r = table.pack(pcall(impl, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    local e = r[2]
    if getmetatable(e) == Fail then error(e.msg, 2) end
    error(e, 0)
  end
end

local function typename(v)
  local mt = debug.getmetatable(v)
  if mt and type(rawget(mt, "__name")) == "string" then return rawget(mt, "__name") end
  return type(v)
end

-- (argument 0 is a method's self, worded as luaL_argerror words it)
local function argerror(fname, n, msg)
  if n == 0 then fail(("calling '%s' on bad self (%s)"):format(fname, msg)) end
  fail(("bad argument #%d to '%s' (%s)"):format(n, fname, msg))
end
local function typeerror(fname, n, expected, v)
  argerror(fname, n, ("%s expected, got %s"):format(expected, typename(v)))
end

local function opt_integer(fname, n, v, default)
  if v == nil then return default end
  if type(v) == "string" then v = tonumber(v) or v end
  if type(v) ~= "number" then typeerror(fname, n, "number", v) end
  local i = math.tointeger(v)
  if not i then argerror(fname, n, "number has no integer representation") end
  return i
end

local function opt_boolean(fname, n, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then typeerror(fname, n, "boolean", v) end
  return v
end

local function check_string(fname, n, v)
  if type(v) ~= "string" then typeerror(fname, n, "string", v) end
  return v
end

local KEY_TYPES = { filename = true, lineno = true, traceback = true }
local function opt_key_type(fname, n, v)
  if v == nil then return "lineno" end
  check_string(fname, n, v)
  if not KEY_TYPES[v] then
    argerror(fname, n, "key_type must be 'filename', 'lineno' or 'traceback', got '" .. v .. "'")
  end
  return v
end

-- ---- tracing --------------------------------------------------------------------

--- Start tracing: every pygc object made from now on remembers the Lua
-- traceback where it was made.
-- @int[opt=1] nframes frames kept per traceback, 1..32
-- @function start

M.start = guarded(function(nframes)
  nframes = opt_integer("start", 1, nframes, 1)
  if nframes < 1 or nframes > 32 then argerror("start", 1, "the number of frames must be in 1..32") end
  gc._trace_start(nframes)
end)

--- Stop tracing, and forget every trace.
-- @function stop

M.stop = guarded(function() gc._trace_stop() end)

--- Forget every trace (and the current and peak sizes); tracing goes on.
M.clear_traces = guarded(function() gc._trace_clear() end)

--- @treturn boolean whether tracing is on
-- @function is_tracing

M.is_tracing = guarded(function() return (gc._trace_info()) end)

--- @treturn integer the number of frames kept per traceback
M.get_traceback_limit = guarded(function() return (select(4, gc._trace_info())) end)

--- The current and peak bytes of the traced objects (sizes when made).
-- @treturn integer current
-- @treturn integer peak (since start, clear_traces or reset_peak)
-- @function get_traced_memory

M.get_traced_memory = guarded(function()
  local _, current, peak = gc._trace_info()
  return current, peak
end)

--- Set the peak of get_traced_memory to the current size, so that the
-- peak of a later phase can be measured (Python 3.9's reset_peak).  Needs
-- the binding's `gc._trace_reset_peak`; raises without it.
-- @function reset_peak

M.reset_peak = guarded(function()
  if type(gc._trace_reset_peak) ~= "function" then
    fail("reset_peak: this pygc binding has no _trace_reset_peak (binding/tracer.c must provide it)")
  end
  gc._trace_reset_peak()
end)

-- ---- tracebacks --------------------------------------------------------------------

local Traceback = {}
Traceback.__index = Traceback
Traceback.__tostring = function(tb)
  local parts = {}
  for _, f in ipairs(tb) do parts[#parts + 1] = ("%s:%d"):format(f.filename, f.lineno) end
  return table.concat(parts, " <- ")
end
Traceback.__eq = function(a, b) return tostring(a) == tostring(b) end
M.Traceback = Traceback

local function traceback(frames)
  local tb = {}
  for i, f in ipairs(frames) do tb[i] = { filename = f[1], lineno = f[2] } end
  return setmetatable(tb, Traceback)
end

--- Lines of the traceback, most recent call first.
-- @treturn table `{ '  File "x.lua", line 3', ... }`
function Traceback:format()
  local out = {}
  for _, f in ipairs(self) do out[#out + 1] = ('  File "%s", line %d'):format(f.filename, f.lineno) end
  return out
end

--- The traceback where obj was made, or nil (not traced).
-- @param obj a pygc object
-- @treturn Traceback|nil
-- @function get_object_traceback

M.get_object_traceback = guarded(function(obj)
  local mt = debug.getmetatable(obj)
  if type(obj) ~= "userdata" or not mt or rawget(mt, "__name") ~= "pygc.object" then
    typeerror("get_object_traceback", 1, "pygc.object", obj)
  end
  if not pcall(gc.id, obj) then argerror("get_object_traceback", 1, "pygc.object expected, got released handle") end
  local frames = gc._trace_object(obj)
  return frames and traceback(frames) or nil
end)

-- ---- glob patterns ------------------------------------------------------------

-- One byte as a Lua pattern item: letters and digits as they are, the
-- rest escaped with % (which Lua allows for any non-alphanumeric).
local function lit(c) return c:match("%w") and c or ("%" .. c) end

local UTF8_CHAR = "[^\128-\191][\128-\191]*"

--- A shell glob as an anchored Lua pattern, as Python's fnmatch reads it
-- (case-sensitive, as on POSIX): `*` any run of characters (`/`
-- included), `?` one character (one UTF-8 sequence), `[seq]` one of seq,
-- `[!seq]` one not in seq (`]` first in seq is literal, `a-z` a byte
-- range), an unclosed `[` a literal `[`; everything else literal.  Ranges
-- are spelled out byte by byte, so no character is magic inside a class.
-- Non-ASCII characters inside `[...]` are refused (Lua's classes are
-- bytes).
-- @string glob
-- @treturn string the Lua pattern
function M.glob_to_pattern(glob)
  local out, i, n = { "^" }, 1, #glob
  while i <= n do
    local c = glob:sub(i, i)
    if c == "*" then
      if out[#out] ~= ".*" then out[#out + 1] = ".*" end
      i = i + 1
    elseif c == "?" then
      out[#out + 1] = UTF8_CHAR
      i = i + 1
    elseif c == "[" then
      local j = i + 1
      if glob:sub(j, j) == "!" then j = j + 1 end
      if glob:sub(j, j) == "]" then j = j + 1 end
      while j <= n and glob:sub(j, j) ~= "]" do j = j + 1 end
      if j > n then
        out[#out + 1] = "%["
        i = i + 1
      else
        local body = glob:sub(i + 1, j - 1)
        local negate = body:sub(1, 1) == "!"
        if negate then body = body:sub(2) end
        if body:find("[\128-\255]") then
          error(("non-ASCII character in [...] of glob %q (Lua patterns match bytes)"):format(glob), 0)
        end
        local set, k = {}, 1
        while k <= #body do
          local a = body:sub(k, k)
          if body:sub(k + 1, k + 1) == "-" and k + 2 <= #body then
            local b = body:sub(k + 2, k + 2)
            for code = a:byte(), b:byte() do set[#set + 1] = lit(string.char(code)) end -- empty when b < a, as fnmatch
            k = k + 3
          else
            set[#set + 1] = lit(a)
            k = k + 1
          end
        end
        if #set == 0 then
          -- "[z-a]" matches nothing, "[!z-a]" any character
          out[#out + 1] = negate and UTF8_CHAR or "[^\0-\255]"
        else
          -- a negated set matches one whole UTF-8 character, as `?`
          out[#out + 1] = negate and ("[^" .. table.concat(set) .. "\128-\191][\128-\191]*")
            or ("[" .. table.concat(set) .. "]")
        end
        i = j + 1
      end
    else
      out[#out + 1] = lit(c)
      i = i + 1
    end
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

-- ---- filters -------------------------------------------------------------------

local Filter = {}
Filter.__index = Filter
local DomainFilter = {}
DomainFilter.__index = DomainFilter

local function top_frame(tb) return tb[1] or { filename = "<unknown>", lineno = 0 } end

--- Filter(inclusive, filename_pattern [, lineno [, all_frames [, domain]]]),
-- Python's tracemalloc.Filter: an inclusive filter keeps only the traces
-- whose most recent frame (any frame with all_frames) has a file matching
-- the glob (see glob_to_pattern) and, if given, that line; an exclusive
-- filter drops those.  With a domain, only traces of that domain are
-- concerned (Python's rule: inclusive needs the domain; exclusive drops
-- only matching traces of that domain).
-- @treturn Filter with fields inclusive, filename_pattern, lineno,
-- all_frames, domain, and lua_pattern (the translated glob)
-- @function Filter

M.Filter = guarded(function(inclusive, filename_pattern, lineno, all_frames, domain)
  if type(inclusive) ~= "boolean" then typeerror("Filter", 1, "boolean", inclusive) end
  check_string("Filter", 2, filename_pattern)
  lineno = opt_integer("Filter", 3, lineno)
  all_frames = opt_boolean("Filter", 4, all_frames, false)
  domain = opt_integer("Filter", 5, domain)
  local ok, pattern = pcall(M.glob_to_pattern, filename_pattern)
  if not ok then argerror("Filter", 2, pattern) end
  return setmetatable({ inclusive = inclusive, filename_pattern = filename_pattern, lineno = lineno,
    all_frames = all_frames, domain = domain, lua_pattern = pattern }, Filter)
end)

--- DomainFilter(inclusive, domain): keep (inclusive) or drop the traces of
-- this domain.
-- @treturn DomainFilter with fields inclusive and domain
-- @function DomainFilter

M.DomainFilter = guarded(function(inclusive, domain)
  if type(inclusive) ~= "boolean" then typeerror("DomainFilter", 1, "boolean", inclusive) end
  domain = opt_integer("DomainFilter", 2, domain)
  if domain == nil then typeerror("DomainFilter", 2, "number", nil) end
  return setmetatable({ inclusive = inclusive, domain = domain }, DomainFilter)
end)

function Filter:_match_frame(f)
  return f.filename:match(self.lua_pattern) ~= nil and (self.lineno == nil or self.lineno == f.lineno)
end

-- true when the trace passes this filter (kept by an inclusive one, not
-- dropped by an exclusive one), as Python's Filter._match
function Filter:_match(trace)
  local res
  local tb = trace.traceback
  if self.all_frames then
    local any = false
    for _, f in ipairs(tb) do if self:_match_frame(f) then any = true; break end end
    if #tb == 0 then any = self:_match_frame(top_frame(tb)) end
    res = any == self.inclusive
  else
    res = self:_match_frame(top_frame(tb)) == self.inclusive
  end
  if self.domain ~= nil then
    if self.inclusive then return res and trace.domain == self.domain end
    return res or trace.domain ~= self.domain
  end
  return res
end

function DomainFilter:_match(trace) return (trace.domain == self.domain) == self.inclusive end

--- Whether a traceback passes the filter (its domain taken as 0).
-- @tparam Traceback tb
-- @treturn boolean
function Filter:matches(tb) return self:_match({ traceback = tb, domain = 0 }) end

-- ---- snapshots and statistics ------------------------------------------------------------

local Snapshot = {}
Snapshot.__index = Snapshot
M.Snapshot = Snapshot

local function is_snapshot(v) return getmetatable(v) == Snapshot end

--- Snapshot(traces [, traceback_limit]): a snapshot made by hand, as
-- Python's Snapshot(traces, traceback_limit).  Each trace is `{ traceback =
-- { {filename = s, lineno = n}, ... }, size = n [, count = 1] [, domain = 0] }`.
-- @treturn Snapshot
local new_snapshot = guarded(function(traces, limit)
  if type(traces) ~= "table" then typeerror("Snapshot", 1, "table", traces) end
  limit = opt_integer("Snapshot", 2, limit, 1)
  local out = {}
  for i, t in ipairs(traces) do
    local function badtrace(what) argerror("Snapshot", 1, ("traces[%d]: %s"):format(i, what)) end
    if type(t) ~= "table" or type(t.traceback) ~= "table" then badtrace("a trace with a traceback expected") end
    local tb = {}
    for j, f in ipairs(t.traceback) do
      if type(f) ~= "table" or type(f.filename) ~= "string" or math.type(f.lineno) ~= "integer" then
        badtrace(("frame %d: {filename = string, lineno = integer} expected"):format(j))
      end
      tb[j] = { filename = f.filename, lineno = f.lineno }
    end
    local count, domain = t.count or 1, t.domain or 0
    if math.type(t.size) ~= "integer" or math.type(count) ~= "integer" or math.type(domain) ~= "integer" then
      badtrace("integer size, count and domain expected")
    end
    out[i] = { traceback = setmetatable(tb, Traceback), size = t.size, count = count, domain = domain }
  end
  return setmetatable({ traces = out, traceback_limit = limit }, Snapshot)
end)
setmetatable(Snapshot, { __call = function(_, ...) return new_snapshot(...) end })

--- A snapshot of the live traced objects, grouped by traceback.
-- @treturn Snapshot `{ traces = {trace, ...}, traceback_limit = n }` (see
-- the module's header for a trace)
-- @function take_snapshot

M.take_snapshot = guarded(function()
  if not gc._trace_info() then
    fail("take_snapshot: the tracemalloc module must be tracing memory to take a snapshot")
  end
  local raw = gc._trace_snapshot()
  local traces = {}
  for i, frames in ipairs(raw.traces) do
    if raw.counts[i] > 0 then
      traces[#traces + 1] = { traceback = traceback(frames), size = raw.sizes[i], count = raw.counts[i], domain = 0 }
    end
  end
  return setmetatable({ traces = traces, traceback_limit = M.get_traceback_limit() }, Snapshot)
end)

--- A new snapshot with the traces the filters keep, as Python's: a trace
-- is kept when it passes at least one inclusive filter (if there are any)
-- and every exclusive one.  An empty list keeps every trace.
-- @tparam table filters a sequence of Filter and DomainFilter
-- @treturn Snapshot
-- @function Snapshot.filter_traces

Snapshot.filter_traces = guarded(function(self, filters)
  if not is_snapshot(self) then typeerror("filter_traces", 0, "Snapshot", self) end
  if type(filters) ~= "table" then typeerror("filter_traces", 1, "table", filters) end
  local inc, exc = {}, {}
  for i, f in ipairs(filters) do
    local mt = getmetatable(f)
    if mt ~= Filter and mt ~= DomainFilter then
      argerror("filter_traces", 1, ("filters[%d]: Filter or DomainFilter expected, got %s"):format(i, typename(f)))
    end
    if f.inclusive then inc[#inc + 1] = f else exc[#exc + 1] = f end
  end
  local kept = {}
  for _, t in ipairs(self.traces) do
    local ok = true
    if #inc > 0 then
      ok = false
      for _, f in ipairs(inc) do if f:_match(t) then ok = true; break end end
    end
    if ok then for _, f in ipairs(exc) do if not f:_match(t) then ok = false; break end end end
    if ok then kept[#kept + 1] = t end
  end
  return setmetatable({ traces = kept, traceback_limit = self.traceback_limit }, Snapshot)
end)

local Statistic = {}
Statistic.__index = Statistic
Statistic.__tostring = function(s)
  return ("%s: size=%d B, count=%d, average=%d B"):format(tostring(s.traceback), s.size, s.count,
    s.count > 0 and s.size // s.count or 0)
end

local function group_key(tb, key_type)
  if key_type == "traceback" then return tostring(tb), tb end
  local top = top_frame(tb)
  if key_type == "filename" then
    return top.filename, setmetatable({ { filename = top.filename, lineno = 0 } }, Traceback)
  end
  local tb1 = setmetatable({ { filename = top.filename, lineno = top.lineno } }, Traceback)
  return top.filename .. ":" .. top.lineno, tb1
end

local function statistics(self, key_type, cumulative)
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

--- Statistics grouped by "filename", "lineno" (default) or "traceback",
-- biggest first.  With cumulative, every frame of a traceback counts
-- (lineno and filename only).
-- @string[opt="lineno"] key_type
-- @bool[opt=false] cumulative
-- @treturn table a sequence of Statistic `{ traceback, size, count }`
-- @function Snapshot.statistics

Snapshot.statistics = guarded(function(self, key_type, cumulative)
  if not is_snapshot(self) then typeerror("statistics", 0, "Snapshot", self) end
  key_type = opt_key_type("statistics", 1, key_type)
  cumulative = opt_boolean("statistics", 2, cumulative, false)
  return statistics(self, key_type, cumulative)
end)

local StatisticDiff = {}
StatisticDiff.__index = StatisticDiff
StatisticDiff.__tostring = function(s)
  return ("%s: size=%d B (%+d B), count=%d (%+d)"):format(tostring(s.traceback), s.size, s.size_diff, s.count,
    s.count_diff)
end

local function compare(self, old, key_type, cumulative)
  local now, before = {}, {}
  for _, s in ipairs(statistics(self, key_type, cumulative)) do now[tostring(s.traceback)] = s end
  for _, s in ipairs(statistics(old, key_type, cumulative)) do before[tostring(s.traceback)] = s end
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

--- What changed since old, biggest change first.
-- @tparam Snapshot old
-- @string[opt="lineno"] key_type
-- @bool[opt=false] cumulative
-- @treturn table a sequence of StatisticDiff `{ traceback, size,
-- size_diff, count, count_diff }`
-- @function Snapshot.compare_to

Snapshot.compare_to = guarded(function(self, old, key_type, cumulative)
  if not is_snapshot(self) then typeerror("compare_to", 0, "Snapshot", self) end
  if not is_snapshot(old) then typeerror("compare_to", 1, "Snapshot", old) end
  key_type = opt_key_type("compare_to", 2, key_type)
  cumulative = opt_boolean("compare_to", 3, cumulative, false)
  return compare(self, old, key_type, cumulative)
end)

local function totals(stats)
  local size, count = 0, 0
  for _, s in ipairs(stats) do size, count = size + s.size, count + s.count end
  return size, count
end

--- The top of the statistics as text (the "display_top" recipe of
-- Python's documentation):
--   Top 3 lineno
--   #1: spec/x.lua:12: size=4800 B, count=50, average=96 B
--   ...
--   2 other: size=200 B, count=2
--   Total: size=5000 B, count=52
-- @string[opt="lineno"] key_type
-- @int[opt=10] limit
-- @bool[opt=false] cumulative
-- @treturn string
-- @function Snapshot.report

Snapshot.report = guarded(function(self, key_type, limit, cumulative)
  if not is_snapshot(self) then typeerror("report", 0, "Snapshot", self) end
  key_type = opt_key_type("report", 1, key_type)
  limit = opt_integer("report", 2, limit, 10)
  if limit < 0 then argerror("report", 2, "must not be negative") end
  cumulative = opt_boolean("report", 3, cumulative, false)
  local stats = statistics(self, key_type, cumulative)
  local lines = { ("Top %d %s"):format(math.min(limit, #stats), key_type) }
  for i = 1, math.min(limit, #stats) do lines[#lines + 1] = ("#%d: %s"):format(i, tostring(stats[i])) end
  if #stats > limit then
    local rest = { table.unpack(stats, limit + 1) }
    local size, count = totals(rest)
    lines[#lines + 1] = ("%d other: size=%d B, count=%d"):format(#rest, size, count)
  end
  local size, count = totals(stats)
  if cumulative then
    size, count = totals(statistics(self, key_type, false))
  end
  lines[#lines + 1] = ("Total: size=%d B, count=%d"):format(size, count)
  return table.concat(lines, "\n")
end)

--- The top of compare_to(old) as text:
--   Top 2 differences by lineno
--   #1: spec/x.lua:12: size=4800 B (+4800 B), count=50 (+50)
--   ...
--   Total: size=5000 B (+4800 B), count=52 (+50)
-- @tparam Snapshot old
-- @string[opt="lineno"] key_type
-- @int[opt=10] limit
-- @bool[opt=false] cumulative
-- @treturn string
-- @function Snapshot.report_diff

Snapshot.report_diff = guarded(function(self, old, key_type, limit, cumulative)
  if not is_snapshot(self) then typeerror("report_diff", 0, "Snapshot", self) end
  if not is_snapshot(old) then typeerror("report_diff", 1, "Snapshot", old) end
  key_type = opt_key_type("report_diff", 2, key_type)
  limit = opt_integer("report_diff", 3, limit, 10)
  if limit < 0 then argerror("report_diff", 3, "must not be negative") end
  cumulative = opt_boolean("report_diff", 4, cumulative, false)
  local diffs = compare(self, old, key_type, cumulative)
  local lines = { ("Top %d differences by %s"):format(math.min(limit, #diffs), key_type) }
  for i = 1, math.min(limit, #diffs) do lines[#lines + 1] = ("#%d: %s"):format(i, tostring(diffs[i])) end
  local size, count = totals(statistics(self, key_type, false))
  local osize, ocount = totals(statistics(old, key_type, false))
  lines[#lines + 1] = ("Total: size=%d B (%+d B), count=%d (%+d)"):format(size, size - osize, count, count - ocount)
  return table.concat(lines, "\n")
end)

-- ---- dump and load ------------------------------------------------------------------

-- The file format (text, one record a line, exact for any filename):
--
--   pygc-tracemalloc-snapshot 1
--   traceback_limit <integer>
--   traces <number of traces>
--   trace <domain> <size> <count> <number of frames>      (per trace)
--   frame <lineno> <byte length> <filename bytes>          (per frame, the
--                                                           filename raw, then a newline)
--   end
--
-- Integers are written in decimal (%d); a filename is written byte for
-- byte after its length, so newlines, spaces and any byte round-trip.
local MAGIC = "pygc-tracemalloc-snapshot 1"

--- Write the snapshot to a file (the format is described above in the
-- source and in the README); load gives it back equal.
-- @string path
-- @function Snapshot.dump

Snapshot.dump = guarded(function(self, path)
  if not is_snapshot(self) then typeerror("dump", 0, "Snapshot", self) end
  check_string("dump", 1, path)
  local parts = { MAGIC, ("traceback_limit %d"):format(self.traceback_limit or 0), ("traces %d"):format(#self.traces) }
  for _, t in ipairs(self.traces) do
    parts[#parts + 1] = ("trace %d %d %d %d"):format(t.domain or 0, t.size, t.count, #t.traceback)
    for _, f in ipairs(t.traceback) do
      parts[#parts + 1] = ("frame %d %d %s"):format(f.lineno, #f.filename, f.filename)
    end
  end
  parts[#parts + 1] = "end\n"
  local f, err = io.open(path, "wb")
  if not f then fail(("dump: cannot write %s: %s"):format(path, err)) end
  local ok, werr = f:write(table.concat(parts, "\n"))
  f:close()
  if not ok then fail(("dump: cannot write %s: %s"):format(path, werr)) end
end)

local function load(path)
  local f, err = io.open(path, "rb")
  if not f then fail(("load: cannot read %s: %s"):format(path, err)) end
  local data = f:read("a")
  f:close()
  local pos, lineno = 1, 0
  local function bad(what)
    fail(("load: %s is not a pygc tracemalloc snapshot (record %d: %s)"):format(path, lineno, what))
  end
  local function line()
    local e = data:find("\n", pos, true)
    if not e then bad("unexpected end of file") end
    local l = data:sub(pos, e - 1)
    pos = e + 1
    lineno = lineno + 1
    return l
  end
  local function int(s, what)
    local v = s and s:match("^%-?%d+$") and math.tointeger(tonumber(s))
    if not v then bad(what .. " is not an integer") end
    return v
  end
  if line() ~= MAGIC then bad("no '" .. MAGIC .. "' header") end
  local limit = int(line():match("^traceback_limit (%S+)$"), "traceback_limit")
  local n = int(line():match("^traces (%S+)$"), "traces")
  local traces = {}
  for i = 1, n do
    local d, s, c, nf = line():match("^trace (%S+) (%S+) (%S+) (%S+)$")
    local tb = {}
    local trace = { domain = int(d, "domain"), size = int(s, "size"), count = int(c, "count") }
    for j = 1, int(nf, "frames") do
      local ln, len, rest = data:match("^frame (%-?%d+) (%d+) ()", pos)
      if not ln then lineno = lineno + 1; bad("frame expected") end
      len = int(len, "length")
      local name = data:sub(rest, rest + len - 1)
      if #name ~= len or data:sub(rest + len, rest + len) ~= "\n" then
        lineno = lineno + 1
        bad("bad filename length")
      end
      pos = rest + len + 1
      lineno = lineno + 1
      tb[j] = { filename = name, lineno = int(ln, "lineno") }
    end
    trace.traceback = setmetatable(tb, Traceback)
    traces[i] = trace
  end
  if line() ~= "end" or pos <= #data then bad("'end' expected") end
  return setmetatable({ traces = traces, traceback_limit = limit }, Snapshot)
end

--- Read a snapshot written by Snapshot:dump.
-- @string path
-- @treturn Snapshot
-- @function load

M.load = guarded(function(path)
  check_string("load", 1, path)
  return load(path)
end)

--- Read a snapshot written by Snapshot:dump (Python's Snapshot.load; the
-- same function as `load`).
-- @string path
-- @treturn Snapshot
-- @function Snapshot.load

Snapshot.load = M.load

return M
