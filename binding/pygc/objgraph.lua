--- objgraph's tools for the pygc heap: type counts and
-- growth, new objects since the last look, leaking objects, reference
-- chains, and reference graphs written as Graphviz DOT (or rendered by
-- `dot` to .png/.svg/.pdf) with the reference cycles highlighted.
--
-- Objects.  The heap holds pygc objects (handles) and, since containers
-- hold any Lua value, Lua tables, functions, coroutines and userdata.
-- Both are "objects" here: `gc.get_objects()` lists them, and the graphs
-- draw them as nodes.  A pygc object's id is `gc.id(obj)`; a Lua value has
-- no gc.id, so `objgraph.id(v)` gives it a negative integer, stable for
-- the value's life (remembered in weak tables, so the toolkit never keeps
-- a value alive).
--
-- Progress.  Functions that scan every object (`gc.get_objects()`) or walk
-- a graph take an optional `progress` option, a function called as
-- `progress(phase, done, total)`: `phase` is `"scan"` (a pass over the
-- objects), `"graph"` (nodes added to a graph) or `"roots"` (Lua values
-- walked looking for Lua roots); `done` counts the items so far; `total`
-- is the number of items when known, else nil.  It is called every 1024
-- items and once at the end of a pass.  An error it raises ends the
-- operation and propagates (so a progress callback can cancel).
--
-- Errors.  Bad arguments raise in luaL_argerror's wording naming the public
-- function, e.g. `bad argument #1 to 'show_growth' (number expected, got
-- string)`, positioned at the caller's line.
-- @module pygc.objgraph
local gc = require "pygc"

local M = {}

local STEP = 1024

-- ---- arguments and errors -------------------------------------------------------

-- Errors raised inside are tables of this metatable; the public wrapper
-- rethrows their text at the caller's level.
local Fail = {}
local function fail(msg) error(setmetatable({ msg = msg }, Fail), 0) end

local function public(name, impl)
  M[name] = function(...)
    local r = table.pack(pcall(impl, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    local e = r[2]
    if getmetatable(e) == Fail then error(e.msg, 2) end
    error(e, 0)
  end
end

local function tname(v)
  local mt = debug.getmetatable(v)
  if mt and type(rawget(mt, "__name")) == "string" then return rawget(mt, "__name") end
  if type(v) == "userdata" and mt == nil and tostring(v):find("^userdata") == nil then return "light userdata" end
  return type(v)
end

local function argerror(fname, n, msg) fail(("bad argument #%d to '%s' (%s)"):format(n, fname, msg)) end
local function typeerror(fname, n, expected, v, field)
  argerror(fname, n, ("%s%s expected, got %s"):format(field and (field .. ": ") or "", expected, tname(v)))
end

local function opt_integer(fname, n, v, default, field)
  if v == nil then return default end
  if type(v) == "string" then v = tonumber(v) or v end
  if type(v) ~= "number" then typeerror(fname, n, "number", v, field) end
  local i = math.tointeger(v)
  if not i then argerror(fname, n, (field and (field .. ": ") or "") .. "number has no integer representation") end
  return i
end

local function opt_count(fname, n, v, default, field)
  local i = opt_integer(fname, n, v, default, field)
  if i ~= nil and i < 0 then argerror(fname, n, (field and (field .. ": ") or "") .. "must not be negative") end
  return i
end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = debug.getmetatable(v)
  return mt ~= nil and rawget(mt, "__call") ~= nil
end

local function opt_function(fname, n, v, field)
  if v ~= nil and not callable(v) then typeerror(fname, n, "function", v, field) end
  return v
end

local function opt_table(fname, n, v)
  if v == nil then return {} end
  if type(v) ~= "table" then typeerror(fname, n, "table", v) end
  return v
end

local function is_handle(v)
  if type(v) ~= "userdata" then return false end
  local mt = debug.getmetatable(v)
  return mt ~= nil and rawget(mt, "__name") == "pygc.object" and (pcall(gc.id, v))
end

local function check_string(fname, n, v)
  if type(v) ~= "string" then typeerror(fname, n, "string", v) end
  return v
end

-- A sequence of objects (Lua table or pygc list/tuple) for an `objects` option.
local function opt_objects(fname, n, v)
  if v == nil then return nil end
  if type(v) ~= "table" and not is_handle(v) then typeerror(fname, n, "table", v, "objects") end
  return v
end

local function ticker(progress, phase, total)
  if not progress then return function() end end
  return function(done, final)
    if final or done % STEP == 0 then progress(phase, done, total) end
  end
end

-- ---- identity -----------------------------------------------------------------

local lua_ids = setmetatable({}, { __mode = "k" }) -- Lua value -> negative id
local lua_by_id = setmetatable({}, { __mode = "v" }) -- negative id -> Lua value
local last_lua_id = 0

-- "object" for a pygc handle, "lua" for a Lua reference value (table,
-- function, coroutine, userdata other than handles and None), nil for
-- atomic values.
local function kind(v)
  local t = type(v)
  if t == "table" or t == "function" or t == "thread" then return "lua" end
  if t == "userdata" then
    if is_handle(v) then return "object" end
    if rawequal(v, gc.None) then return nil end
    local mt = debug.getmetatable(v)
    if mt and rawget(mt, "__name") == "pygc.object" then return nil end -- released
    return "lua"
  end
  return nil
end

local function lua_id(v)
  local id = lua_ids[v]
  if not id then
    last_lua_id = last_lua_id - 1
    id = last_lua_id
    lua_ids[v] = id
    lua_by_id[id] = v
  end
  return id
end

local function ident(v)
  local k = kind(v)
  if k == "object" then return gc.id(v) end
  if k == "lua" then return lua_id(v) end
  return nil
end

--- The id of an object: `gc.id(obj)` for a pygc object, a negative integer
-- (stable while the value lives) for a Lua table, function, coroutine or
-- userdata.  Raises for atomic values (numbers, strings, nil, None).
-- @param v the object
-- @treturn integer
-- @function id

public("id", function(v)
  local id = ident(v)
  if id == nil then typeerror("id", 1, "object", v) end
  return id
end)

-- The toolkit's own tables (never reported as leaks or drawn as roots).
local own = setmetatable({}, { __mode = "k" })
own[M] = true
own[lua_ids] = true
own[lua_by_id] = true
own[own] = true

-- ---- counting -------------------------------------------------------------------

local function scan_objects(opts, fname, argn, fn)
  local objs = opt_objects(fname, argn, opts.objects) or gc.get_objects()
  local total = #objs
  local tick = ticker(opts.progress, "scan", total)
  -- (indexes, not ipairs: a hole must not end the scan; see get_leaking_objects)
  for i = 1, total do
    local o = objs[i]
    if o ~= nil then fn(o) end
    tick(i)
  end
  tick(total, true)
  return objs
end

local function scan_opts(fname, n, opts)
  opts = opt_table(fname, n, opts)
  opt_function(fname, n, opts.progress, "progress")
  opt_function(fname, n, opts.filter, "filter")
  return opts
end

local function typestats(fname, n, opts)
  local counts = {}
  local filter = opts.filter
  scan_objects(opts, fname, n, function(o)
    if filter == nil or filter(o) then
      local t = gc.type(o)
      counts[t] = (counts[t] or 0) + 1
    end
  end)
  return counts
end

--- How many objects there are of each type.
-- @tparam[opt] table opts `objects` (a sequence to count instead of
-- `gc.get_objects()`), `filter` (`filter(obj)` false leaves obj out),
-- `progress` (see the module's header)
-- @treturn table `{ [type name] = count }`
-- @function typestats

public("typestats", function(opts)
  return typestats("typestats", 1, scan_opts("typestats", 1, opts))
end)

--- How many objects have this type name.
-- @string typename as `gc.type` names it ("list", "Node", "Lua table")
-- @tparam[opt] table opts `objects`, `progress`
-- @treturn integer
-- @function count

public("count", function(typename, opts)
  check_string("count", 1, typename)
  opts = scan_opts("count", 2, opts)
  local n = 0
  scan_objects(opts, "count", 2, function(o) if gc.type(o) == typename then n = n + 1 end end)
  return n
end)

local function sorted_counts(counts, limit)
  local list = {}
  for t, n in pairs(counts) do list[#list + 1] = { t, n } end
  table.sort(list, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(limit or #list, #list) do out[i] = list[i] end
  return out
end

--- The most common types, most common first.
-- @int[opt=10] limit at most this many (0 or false: all)
-- @tparam[opt] table opts `objects`, `filter`, `progress`
-- @treturn table `{ {type name, count}, ... }`
-- @function most_common_types

public("most_common_types", function(limit, opts)
  if limit == false then limit = 0 end
  limit = opt_count("most_common_types", 1, limit, 10)
  opts = scan_opts("most_common_types", 2, opts)
  return sorted_counts(typestats("most_common_types", 2, opts), limit > 0 and limit or nil)
end)

--- Print the most common types, one `"%-24s %d"` line each.
-- @int[opt=10] limit
-- @tparam[opt=print] function write called with each line
-- @tparam[opt] table opts as most_common_types
-- @treturn table what most_common_types returns
-- @function show_most_common_types

public("show_most_common_types", function(limit, write, opts)
  if limit == false then limit = 0 end
  limit = opt_count("show_most_common_types", 1, limit, 10)
  opt_function("show_most_common_types", 2, write)
  opts = scan_opts("show_most_common_types", 3, opts)
  local list = sorted_counts(typestats("show_most_common_types", 3, opts), limit > 0 and limit or nil)
  for _, e in ipairs(list) do (write or print)(("%-24s %d"):format(e[1], e[2])) end
  return list
end)

--- Every object of this type name.
-- @string typename
-- @tparam[opt] table opts `objects`, `progress`
-- @treturn table a sequence of the objects
-- @function by_type

public("by_type", function(typename, opts)
  check_string("by_type", 1, typename)
  opts = scan_opts("by_type", 2, opts)
  local out = {}
  scan_objects(opts, "by_type", 2, function(o) if gc.type(o) == typename then out[#out + 1] = o end end)
  return out
end)

-- ---- growth ---------------------------------------------------------------------

local peak_stats = {}
own[peak_stats] = true

local function growth(fname, limit, opts, n)
  if limit == false then limit = 0 end
  limit = opt_count(fname, 1, limit, 10)
  opts = scan_opts(fname, n, opts)
  local peaks = opts.peak_stats or peak_stats
  if type(peaks) ~= "table" then typeerror(fname, n, "table", peaks, "peak_stats") end
  if opts.objects == nil then gc.collect() end
  local stats = typestats(fname, n, opts)
  local deltas = {}
  for name, count in pairs(stats) do
    local old = peaks[name] or 0
    if count > old then
      deltas[#deltas + 1] = { name, count, count - old }
      peaks[name] = count
    end
  end
  table.sort(deltas, function(a, b) if a[3] ~= b[3] then return a[3] > b[3] end return a[1] < b[1] end)
  local out = {}
  for i = 1, (limit > 0 and math.min(limit, #deltas) or #deltas) do out[i] = deltas[i] end
  return out
end

--- The types whose counts rose above their peak since the last call (as
-- objgraph: each type's highest count so far is remembered in
-- `peak_stats`; the first call compares with nothing).  Collects first
-- (`gc.collect()`, which also completes a Lua collection) unless
-- `opts.objects` is given.
-- @int[opt=10] limit at most this many (0 or false: all)
-- @tparam[opt] table opts `peak_stats` (a table `{ [type] = peak }` to use
-- instead of the module's own, shared with show_growth), `filter`,
-- `objects`, `progress`
-- @treturn table `{ {type name, count, increase}, ... }`, biggest increase first
-- @function growth

public("growth", function(limit, opts) return growth("growth", limit, opts, 2) end)

--- Like growth, and prints each line as `"%-24s %8d %+8d"` (type, count,
-- increase).
-- @int[opt=10] limit
-- @tparam[opt=print] function|false write called with each line; false prints nothing
-- @tparam[opt] table opts as growth
-- @treturn table what growth returns
-- @function show_growth

public("show_growth", function(limit, write, opts)
  if write ~= false then opt_function("show_growth", 2, write) end
  local out = growth("show_growth", limit, opts, 3)
  if write ~= false then
    for _, g in ipairs(out) do (write or print)(("%-24s %8d %+8d"):format(g[1], g[2], g[3])) end
  end
  return out
end)

local new_ids_state = { old = {}, current = {}, new = {} }
own[new_ids_state] = true

local SORTBY = { old = 2, current = 3, new = 4, deltas = 5 }

--- The objects made since the last call, by type, as sets of ids (as
-- objgraph.get_new_ids); prints a table of old, current and new counts.
-- Collects first.  Pass the result to at_addrs to get the objects.
-- @tparam[opt] table opts `skip_update` (return the last result without
-- scanning), `limit` (10; rows printed, 0: all), `sortby` ("old",
-- "current", "new" or "deltas", the default), `write` (print; false
-- prints nothing), `progress`
-- @treturn table `{ [type name] = { [id] = true, ... } }` (every type seen,
-- empty sets included); and the rows `{ {type, old, current, new, delta}, ... }`
-- @function get_new_ids

public("get_new_ids", function(opts)
  opts = opt_table("get_new_ids", 1, opts)
  local limit = opt_count("get_new_ids", 1, opts.limit, 10, "limit")
  local sortby = opts.sortby or "deltas"
  if not SORTBY[sortby] then
    argerror("get_new_ids", 1, "sortby: 'old', 'current', 'new' or 'deltas' expected, got " .. tostring(sortby))
  end
  local write = opts.write
  if write ~= false then opt_function("get_new_ids", 1, write, "write") end
  opt_function("get_new_ids", 1, opts.progress, "progress")
  local st = new_ids_state
  if opts.skip_update then return st.new, st.rows or {} end
  local old, current = st.current, {}
  gc.collect()
  scan_objects({ progress = opts.progress }, "get_new_ids", 1, function(o)
    local t = gc.type(o)
    local set = current[t]
    if not set then set = {}; current[t] = set end
    set[ident(o)] = true
  end)
  local types, rows, new = {}, {}, {}
  for t in pairs(old) do types[t] = true end
  for t in pairs(current) do types[t] = true end
  for t in pairs(types) do
    local o, c, nset = old[t] or {}, current[t] or {}, {}
    local no, nc, nn = 0, 0, 0
    for _ in pairs(o) do no = no + 1 end
    for id in pairs(c) do
      nc = nc + 1
      if not o[id] then nset[id] = true; nn = nn + 1 end
    end
    new[t] = nset
    if no > 0 or nc > 0 then rows[#rows + 1] = { t, no, nc, nn, nc - no } end
  end
  local col = SORTBY[sortby]
  table.sort(rows, function(a, b) if a[col] ~= b[col] then return a[col] > b[col] end return a[1] < b[1] end)
  if limit > 0 then for i = #rows, limit + 1, -1 do rows[i] = nil end end
  st.old, st.current, st.new, st.rows = old, current, new, rows
  if write ~= false then
    write = write or print
    local width = 4
    for _, r in ipairs(rows) do width = math.max(width, #r[1]) end
    local rule = ("="):rep(width + 13 * 4)
    write(rule)
    write(("%-" .. width .. "s%13s%13s%13s%13s"):format("Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"))
    write(rule)
    for _, r in ipairs(rows) do
      write(("%-" .. width .. "s%13d%13d%+13d%+13d"):format(r[1], r[2], r[3], r[4], r[5]))
    end
    write(rule)
  end
  return new, rows
end)

local function find_by_ids(ids, opts, fname)
  local found = {}
  local want = 0
  for id in pairs(ids) do
    if id < 0 then
      local v = lua_by_id[id]
      if v ~= nil then found[id] = v end
    else
      want = want + 1
    end
  end
  if want > 0 then
    scan_objects(opts, fname, 2, function(o)
      if kind(o) == "object" then
        local id = gc.id(o)
        if ids[id] then found[id] = o end
      end
    end)
  end
  return found
end

--- The object with this id (`gc.id`, or `objgraph.id` for a Lua value),
-- or nil when no live object has it.
-- @int id
-- @tparam[opt] table opts `progress` (the scan of `gc.get_objects()`)
-- @return the object, or nil
-- @function at

public("at", function(id, opts)
  id = opt_integer("at", 1, id)
  if id == nil then typeerror("at", 1, "number", nil) end
  opts = scan_opts("at", 2, opts)
  return find_by_ids({ [id] = true }, opts, "at")[id]
end)

--- The live objects with these ids.
-- @tparam table ids a set `{ [id] = true }` (as get_new_ids gives) or a sequence of ids
-- @tparam[opt] table opts `progress`
-- @treturn table a sequence of the objects found (in no particular order)
-- @function at_addrs

public("at_addrs", function(ids, opts)
  if type(ids) ~= "table" then typeerror("at_addrs", 1, "table", ids) end
  opts = scan_opts("at_addrs", 2, opts)
  local set = {}
  for k, v in pairs(ids) do
    local id = v == true and k or v
    if math.type(id) ~= "integer" then argerror("at_addrs", 1, "a set or sequence of integer ids expected") end
    set[id] = true
  end
  local out = {}
  for _, o in pairs(find_by_ids(set, opts, "at_addrs")) do out[#out + 1] = o end
  return out
end)

-- ---- edges ---------------------------------------------------------------------

local function key_label(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return "." .. k end
  if type(k) == "string" then return ("[%q]"):format(k) end
  if math.type(k) then return ("[%s]"):format(tostring(k)) end
  return ("[%s]"):format(kind(k) == "object" and ("<" .. gc.type(k) .. ">") or tostring(k))
end

-- The labels of the edges from a pygc object, as Lua can see them: list
-- and tuple indexes, dict keys, instance attribute names.  Host types and
-- classes give none.  { [child] = {label, ...} }, by child value.
local function labels_of(o)
  local out = {}
  local function add(child, label)
    if kind(child) then
      local l = out[child]
      if not l then l = {}; out[child] = l end
      l[#l + 1] = label
    end
  end
  local t = gc.type(o)
  if t == "list" or t == "tuple" then
    for i, x in ipairs(o) do add(x, ("[%d]"):format(i)) end
  elseif t == "dict" then
    for k, x in pairs(o) do
      local label = type(k) == "string" and ("[%q]"):format(k) or key_label(k)
      add(k, label .. " (key)")
      add(x, label)
    end
  else
    pcall(function() for k, x in pairs(o) do add(x, type(k) == "string" and k or key_label(k)) end end)
  end
  return out
end

-- What v refers to: { {child, label}, ... }, one entry per distinct child.
local function referents(v)
  local out, seen = {}, {}
  if kind(v) == "object" then
    local labels = labels_of(v)
    for _, x in ipairs(gc.get_referents(v)) do
      if kind(x) and not seen[x] then
        seen[x] = true
        out[#out + 1] = { x, table.concat(labels[x] or {}, ", ") }
      end
    end
  elseif type(v) == "table" then
    local mt = debug.getmetatable(v)
    local mode = mt and rawget(mt, "__mode")
    mode = type(mode) == "string" and mode or ""
    for k, x in next, v do
      if not mode:find("v", 1, true) and kind(x) == "object" and not seen[x] then
        seen[x] = true
        out[#out + 1] = { x, key_label(k) }
      end
      if not mode:find("k", 1, true) and kind(k) == "object" and not seen[k] then
        seen[k] = true
        out[#out + 1] = { k, "(key)" }
      end
    end
  elseif type(v) == "function" then
    for i = 1, 255 do
      local name, x = debug.getupvalue(v, i)
      if not name then break end
      if kind(x) == "object" and not seen[x] then
        seen[x] = true
        out[#out + 1] = { x, "upvalue " .. (name ~= "" and name or tostring(i)) }
      end
    end
  end
  return out
end

-- What refers to v inside the heap: { {referrer, label}, ... }.
local function referrers(v)
  local out, seen = {}, {}
  for _, r in ipairs(gc.get_referrers(v)) do
    if not seen[r] then
      seen[r] = true
      out[#out + 1] = { r, table.concat(labels_of(r)[v] or {}, ", ") }
    end
  end
  return out
end

-- ---- leaking objects -------------------------------------------------------------

--- The objects that no object in the heap refers to (as
-- objgraph.get_leaking_objects): what only Lua or a C host holds, or
-- garbage about to go.  Collects first unless `objects` is given.  Leaves
-- out the module's own lists (`gc.garbage`) and the toolkit's own tables.
-- @tparam[opt] table objects a sequence to look in instead of `gc.get_objects()`
-- @tparam[opt] table opts `progress` (two scans: referents, then results)
-- @treturn table a sequence of the objects
-- @function get_leaking_objects

public("get_leaking_objects", function(objects, opts)
  objects = opt_objects("get_leaking_objects", 1, objects)
  opts = scan_opts("get_leaking_objects", 2, opts)
  if objects == nil then gc.collect() end
  local objs = objects or gc.get_objects()
  local skip = { [gc.garbage] = true }
  local referenced = {}
  local total = #objs
  local tick = ticker(opts.progress, "scan", total)
  -- (indexes, not ipairs: gc.get_objects() can give nil for a Lua value,
  -- a binding bug reported to the lead; a hole must not end the scan)
  for i = 1, total do
    local o = objs[i]
    if o ~= nil then
      for _, r in ipairs(gc.get_referents(o)) do if kind(r) then referenced[r] = true end end
    end
    tick(i)
  end
  tick(total, true)
  local out = {}
  for i = 1, total do
    local o = objs[i]
    if o ~= nil and kind(o) and not referenced[o] and not skip[o] and not own[o] and not rawequal(o, objects) then
      out[#out + 1] = o
    end
  end
  return out
end)

-- ---- chains ---------------------------------------------------------------------

local function find_chain(obj, predicate, edges, max_depth, ignore)
  if predicate(obj) then return { obj } end
  local parent, seen = {}, { [obj] = true }
  local level = { obj }
  for _ = 1, max_depth do
    local nextlevel = {}
    for _, target in ipairs(level) do
      for _, e in ipairs(edges(target)) do
        local r = e[1]
        if not seen[r] and not ignore[r] then
          seen[r] = true
          parent[r] = target
          if predicate(r) then
            local chain = { r }
            local cur = r
            while parent[cur] ~= nil do
              cur = parent[cur]
              chain[#chain + 1] = cur
            end
            return chain
          end
          nextlevel[#nextlevel + 1] = r
        end
      end
    end
    if #nextlevel == 0 then return nil end
    level = nextlevel
  end
  return nil
end

local function ignore_set(fname, n, list)
  local set = {}
  if list == nil then return set end
  if type(list) ~= "table" then typeerror(fname, n, "table", list, "extra_ignore") end
  for _, x in ipairs(list) do
    if math.type(x) == "integer" then
      local o = x < 0 and lua_by_id[x] or nil
      set[x] = true
      if o ~= nil then set[o] = true end
    else
      set[x] = true
    end
  end
  return set
end

local function ignored(ignore, v) return ignore[v] or ignore[ident(v)] end

local function check_node(fname, n, v)
  if kind(v) == nil then typeerror(fname, n, "object", v) end
  return v
end

-- Objects nothing in the heap refers to (roots held from outside).
local function outside_holders()
  local held = {}
  for _, o in ipairs(M.get_leaking_objects(nil)) do held[o] = true end
  return held
end

--- The shortest chain `{root, ..., obj}` along referrers from obj back to
-- an object satisfying predicate (default: one nothing in the heap refers
-- to, i.e. a root held from outside).
-- @param obj a pygc object or Lua value in the heap
-- @tparam[opt] function predicate `predicate(o)` true for the end of the chain
-- @int[opt=20] max_depth
-- @tparam[opt] table extra_ignore objects or ids never to pass through
-- @treturn table|nil the chain, or nil when none within max_depth
-- @function find_backref_chain

public("find_backref_chain", function(obj, predicate, max_depth, extra_ignore)
  check_node("find_backref_chain", 1, obj)
  opt_function("find_backref_chain", 2, predicate)
  max_depth = opt_count("find_backref_chain", 3, max_depth, 20)
  local ignore = ignore_set("find_backref_chain", 4, extra_ignore)
  local roots = predicate == nil and outside_holders() or nil
  predicate = predicate or function(o) return roots[o] == true end
  local chain = find_chain(obj, predicate, referrers, max_depth, ignore)
  return chain
end)

--- The shortest chain `{obj, ..., target}` along referents from obj to an
-- object satisfying predicate.
-- @param obj a pygc object or Lua value
-- @tparam function predicate `predicate(o)` true for the end of the chain
-- @int[opt=20] max_depth
-- @tparam[opt] table extra_ignore objects or ids never to pass through
-- @treturn table|nil the chain, or nil when none within max_depth
-- @function find_ref_chain

public("find_ref_chain", function(obj, predicate, max_depth, extra_ignore)
  check_node("find_ref_chain", 1, obj)
  if not callable(predicate) then typeerror("find_ref_chain", 2, "function", predicate) end
  max_depth = opt_count("find_ref_chain", 3, max_depth, 20)
  local ignore = ignore_set("find_ref_chain", 4, extra_ignore)
  local chain = find_chain(obj, predicate, referents, max_depth, ignore)
  if chain then
    local n = #chain
    for i = 1, n // 2 do chain[i], chain[n + 1 - i] = chain[n + 1 - i], chain[i] end
  end
  return chain
end)

-- ---- graphs ---------------------------------------------------------------------

local function quote(s) return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"' end

local function node_label(o)
  local k = kind(o)
  local t = gc.type(o)
  if k == "object" then
    if t == "list" or t == "tuple" or t == "dict" then return ("%s\n%d items"):format(t, #o) end
    return t
  end
  if type(o) == "table" then
    local n = 0
    for _ in next, o do n = n + 1 end
    return ("%s\n%d keys"):format(t, n)
  elseif type(o) == "function" then
    local info = debug.getinfo(o, "S")
    return ("%s\n%s"):format(t, info.what == "C" and "[C]" or (info.short_src .. ":" .. info.linedefined))
  end
  return t
end

-- Strongly connected components (Tarjan, iterative) of the drawn graph:
-- nodes and edges inside a component of more than one node, or a node with
-- an edge to itself, lie on a cycle.
local function cyclic_nodes(ids, edges)
  local index, low, on, stack = {}, {}, {}, {}
  local counter, cyclic = 0, {}
  local out = {}
  for _, e in ipairs(edges) do
    out[e[1]] = out[e[1]] or {}
    table.insert(out[e[1]], e[2])
    if e[1] == e[2] then cyclic[e[1]] = true end
  end
  for _, v0 in ipairs(ids) do
    if not index[v0] then
      local work = { { v0, 1 } }
      counter = counter + 1
      index[v0], low[v0] = counter, counter
      stack[#stack + 1] = v0
      on[v0] = true
      while #work > 0 do
        local frame = work[#work]
        local v, i = frame[1], frame[2]
        local succ = out[v] or {}
        if i <= #succ then
          frame[2] = i + 1
          local w = succ[i]
          if not index[w] then
            counter = counter + 1
            index[w], low[w] = counter, counter
            stack[#stack + 1] = w
            on[w] = true
            work[#work + 1] = { w, 1 }
          elseif on[w] then
            low[v] = math.min(low[v], index[w])
          end
        else
          work[#work] = nil
          if #work > 0 then local u = work[#work][1]; low[u] = math.min(low[u], low[v]) end
          if low[v] == index[v] then
            local members = {}
            repeat
              local w = table.remove(stack)
              on[w] = false
              members[#members + 1] = w
            until w == v
            if #members > 1 then for _, w in ipairs(members) do cyclic[w] = true end end
          end
        end
      end
    end
  end
  return cyclic
end

local this_source = debug.getinfo(1, "S").source

-- Lua roots: the shortest path from _G (or a local of the calling stack)
-- through Lua tables and upvalues to each holder of a drawn node.  Calls
-- found(path, node) for each (holder slot, node) pair.  Does not walk into
-- pygc objects (their edges are the graph's own), nor past drawn nodes.
local function lua_roots(targets, skip, opts, found, question)
  local budget = opts.root_budget or 200000
  local max_depth = opts.root_depth or 10
  local tick = ticker(opts.progress, "roots", nil)
  local seen = { [targets] = true, [skip] = true }
  for t in pairs(own) do seen[t] = true end
  local queue, head = {}, 1
  seen[queue] = true
  local function push(v, path, depth)
    local tv = type(v)
    if (tv == "table" or tv == "function") and not seen[v] and not skip[v] then
      seen[v] = true
      queue[#queue + 1] = { v, path, depth }
    end
  end
  local function slot(holder_path, label, x, depth)
    if targets[x] then
      found(holder_path .. label, x)
    elseif depth < max_depth then
      push(x, holder_path .. label, depth + 1)
    end
  end
  push(_G, "_G", 0)
  -- locals of the calling stack, from the first frame outside this file
  -- (the caller's own locals holding the objects asked about are the
  -- question, not the answer)
  local level, first = 2, true
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= this_source and info.what ~= "C" then
      local where = ("%s:%d"):format(info.short_src, info.currentline)
      for i = 1, 250 do
        local name, value = debug.getlocal(level, i)
        if not name then break end
        if name:sub(1, 1) ~= "(" and not skip[value] and not (first and question[value]) then
          slot(("local '%s' (%s)"):format(name, where), "", value, 0)
        end
      end
      first = false
    end
    level = level + 1
  end
  local visited = 0
  while head <= #queue and visited < budget do
    local v, path, depth = queue[head][1], queue[head][2], queue[head][3]
    queue[head] = false
    head = head + 1
    visited = visited + 1
    tick(visited)
    if type(v) == "table" then
      local mt = debug.getmetatable(v)
      local mode = mt and rawget(mt, "__mode")
      mode = type(mode) == "string" and mode or ""
      for k, x in next, v do
        if not mode:find("v", 1, true) then slot(path, key_label(k), x, depth) end
        if not mode:find("k", 1, true) and kind(k) then slot(path, "<key " .. tostring(k) .. ">", k, depth) end
      end
      if mt then slot(path, "<metatable>", mt, depth) end
    else
      for i = 1, 255 do
        local name, x = debug.getupvalue(v, i)
        if not name then break end
        slot(path, ("<upvalue %s>"):format(name ~= "" and name or tostring(i)), x, depth)
      end
    end
  end
  tick(visited, true)
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function render(fname, text, filename, format)
  local ext = format or (filename:match("%.([%w_]+)$") or "dot"):lower()
  if ext == "dot" or ext == "gv" then
    local f, err = io.open(filename, "w")
    if not f then fail(("%s: cannot write %s: %s"):format(fname, filename, err)) end
    f:write(text)
    f:close()
    return
  end
  if not ext:match("^[%w_:]+$") then argerror(fname, 2, "format: a Graphviz output format expected, got " .. ext) end
  if not os.execute("command -v dot >/dev/null 2>&1") then
    fail(("%s: rendering %s as %s needs Graphviz's dot on the PATH (tools/install-deps.sh installs graphviz); "
      .. "give a .dot filename to write the graph as text"):format(fname, filename, ext))
  end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  f:write(text)
  f:close()
  local p = io.popen(("dot -T%s -o %s %s 2>&1"):format(ext, shell_quote(filename), shell_quote(tmp)))
  local out = p:read("a")
  local ok = p:close()
  os.remove(tmp)
  if not ok then fail(("%s: dot could not render %s: %s"):format(fname, filename, out:gsub("%s+$", ""))) end
end

local function graph_opts(fname, n, opts)
  opts = opt_table(fname, n, opts)
  local o = {
    max_depth = opt_count(fname, n, opts.max_depth, 3, "max_depth"),
    too_many = opt_count(fname, n, opts.too_many, 10, "too_many"),
    max_nodes = opt_count(fname, n, opts.max_nodes, 500, "max_nodes"),
    filter = opt_function(fname, n, opts.filter, "filter"),
    highlight = opt_function(fname, n, opts.highlight, "highlight"),
    progress = opt_function(fname, n, opts.progress, "progress"),
    extra_ignore = ignore_set(fname, n, opts.extra_ignore),
    root_depth = opt_count(fname, n, opts.root_depth, 10, "root_depth"),
    root_budget = opt_count(fname, n, opts.root_budget, 200000, "root_budget"),
    lua_roots = opts.lua_roots,
    filename = opts.filename,
    format = opts.format,
  }
  if o.filename ~= nil and type(o.filename) ~= "string" then typeerror(fname, n, "string", o.filename, "filename") end
  if o.format ~= nil and type(o.format) ~= "string" then typeerror(fname, n, "string", o.format, "format") end
  return o
end

local function start_objects(fname, objs)
  if kind(objs) == "object" then return { objs } end
  if type(objs) ~= "table" then typeerror(fname, 1, "pygc.object or table of objects", objs) end
  local list = {}
  for i, o in ipairs(objs) do
    if kind(o) == nil then argerror(fname, 1, ("objects[%d]: object expected, got %s"):format(i, tname(o))) end
    list[#list + 1] = o
  end
  if #list == 0 then argerror(fname, 1, "no objects to draw") end
  return list
end

-- Walk from the start objects along referents (forward) or referrers
-- (backwards) as objgraph does: breadth first up to max_depth, at most
-- too_many edges from each node (the rest summed up in a "N more
-- references" node), keeping only what filter accepts.  Refuses a graph
-- of more than max_nodes nodes before anything reaches dot.
local function graph(fname, objs, o, backwards, argtable)
  local nodes, ids, edges, edge_of = {}, {}, {}, {}
  local extras = {} -- DOT lines of the summary and root nodes
  local tick = ticker(o.progress, "graph", nil)
  local function refuse()
    fail(("%s: the graph has more than %d nodes (max_nodes); Graphviz needs a great deal of memory for big graphs: "
      .. "lower max_depth or too_many, pass a filter, or raise max_nodes"):format(fname, o.max_nodes))
  end
  local function add_node(v, depth, extra)
    local key = ident(v)
    local n = nodes[key]
    if n then return key, false end
    if #ids >= o.max_nodes then refuse() end
    n = { obj = v, depth = depth, start = extra == "start", root = extra == "root" }
    nodes[key] = n
    ids[#ids + 1] = key
    tick(#ids)
    return key, true
  end
  local function add_edge(from, to, label)
    local k = from .. ">" .. to
    local e = edge_of[k]
    if e then
      if label ~= "" then e[3] = e[3] == "" and label or (e[3] .. ", " .. label) end
      return
    end
    e = { from, to, label }
    edge_of[k] = e
    edges[#edges + 1] = e
  end
  local queue, head = {}, 1
  for _, v in ipairs(objs) do
    local key, new = add_node(v, 0, "start")
    if new then queue[#queue + 1] = key end
  end
  local nextra = 0
  while head <= #queue do
    local key = queue[head]
    head = head + 1
    local n = nodes[key]
    if n.depth < o.max_depth then
      local count, skipped = 0, 0
      local neighbours = backwards and referrers(n.obj) or referents(n.obj)
      for _, nb in ipairs(neighbours) do
        local x, label = nb[1], nb[2]
        if not ignored(o.extra_ignore, x) and not rawequal(x, argtable) and (o.filter == nil or o.filter(x)) then
          if count >= o.too_many then
            skipped = skipped + 1
          else
            count = count + 1
            local xkey, new = add_node(x, n.depth + 1)
            if new then queue[#queue + 1] = xkey end
            if backwards then add_edge(xkey, key, label) else add_edge(key, xkey, label) end
          end
        end
      end
      if skipped > 0 then
        if #ids + nextra >= o.max_nodes then refuse() end
        nextra = nextra + 1
        local name = ("too_many_%d"):format(nextra)
        extras[#extras + 1] =
          ('  %s [label="%d more references", shape=box, style="dotted,filled", fillcolor=lightgray];')
          :format(name, skipped)
        local oid = ("%s%d"):format(key < 0 and "l" or "o", math.abs(key))
        extras[#extras + 1] = backwards and ("  %s -> %s [style=dotted];"):format(name, oid)
          or ("  %s -> %s [style=dotted];"):format(oid, name)
      end
    end
  end
  tick(#ids, true)
  -- Lua roots: the holders of drawn nodes in Lua, as nodes of their own
  local nroots = 0
  if o.lua_roots then
    local targets, per = {}, {}
    for _, key in ipairs(ids) do
      local n = nodes[key]
      if n.depth < o.max_depth or n.start then targets[n.obj] = true end
    end
    local skip = { [objs] = true }
    if argtable then skip[argtable] = true end
    local root_ids, question = {}, {}
    for _, v in ipairs(objs) do question[v] = true end
    lua_roots(targets, skip, o, function(path, x)
      local xkey = ident(x)
      per[xkey] = (per[xkey] or 0) + 1
      if per[xkey] > o.too_many then return end
      local rid = root_ids[path]
      if not rid then
        if #ids + nextra + nroots >= o.max_nodes then refuse() end
        nroots = nroots + 1
        rid = "root" .. nroots
        root_ids[path] = rid
        extras[#extras + 1] = ("  %s [label=%s, shape=ellipse, fillcolor=lightblue];"):format(rid, quote(path))
      end
      extras[#extras + 1] = ("  %s -> %s;"):format(rid, ("%s%d"):format(xkey < 0 and "l" or "o", math.abs(xkey)))
    end, question)
  end
  local function nid(key) return ("%s%d"):format(key < 0 and "l" or "o", math.abs(key)) end
  local cyclic = cyclic_nodes(ids, edges)
  local out = { "digraph ObjectGraph {", "  node[shape=box, style=filled, fillcolor=white];" }
  for _, key in ipairs(ids) do
    local n = nodes[key]
    local color = n.start and "lightyellow" or (cyclic[key] and "lightpink" or "white")
    if o.highlight and o.highlight(n.obj) then color = "lightgreen" end
    local shape = kind(n.obj) == "lua" and ", shape=component" or ""
    out[#out + 1] = ("  %s [label=%s, fillcolor=%s%s%s];"):format(nid(key), quote(node_label(n.obj)), color,
      cyclic[key] and ", color=red" or "", shape)
  end
  for _, e in ipairs(edges) do
    local red = cyclic[e[1]] and cyclic[e[2]]
    out[#out + 1] = ("  %s -> %s [label=%s%s];"):format(nid(e[1]), nid(e[2]), quote(e[3]), red and ", color=red" or "")
  end
  for _, line in ipairs(extras) do out[#out + 1] = line end
  out[#out + 1] = "}"
  local text = table.concat(out, "\n") .. "\n"
  if o.filename then render(fname, text, o.filename, o.format) end
  local cyc = {}
  for key in pairs(cyclic) do cyc[key] = true end
  return text, { nodes = #ids, edges = #edges, cyclic = cyc, roots = nroots, skipped_nodes = nextra }
end

local GRAPH_DOC = [[
Options (all optional): `max_depth` (3), `too_many` (10: at most this
many edges drawn from each node, the rest summed up in one "N more
references" node, as objgraph), `max_nodes` (500: a bigger graph is
refused with an error before anything reaches dot), `filter`
(`filter(obj)` false leaves obj out), `extra_ignore` (objects or ids to
leave out), `highlight` (`highlight(obj)` true draws obj green),
`filename` (".dot"/".gv" or no extension: the DOT text; any other
extension such as ".png", ".svg", ".pdf": rendered by Graphviz's `dot
-T<ext>`), `format` (the dot output format, instead of the extension),
`lua_roots` (draw the Lua holders of the drawn objects: `_G.app.cache`,
`local 'x' (file:line)`; default true for show_backrefs), `root_depth`
(10) and `root_budget` (200000: Lua values walked at most) for that
walk, `progress` (see the module's header).
Returns the DOT text and `{ nodes = n, edges = n, cyclic = {[id] = true},
roots = n, skipped_nodes = n }` (`nodes` and `edges` count objects and
the edges between them; roots and "more references" nodes are counted
apart).]]
M._GRAPH_DOC = GRAPH_DOC

--- What objs refer to, as a DOT graph (objgraph.show_refs).  Edges are
-- labelled with the list index, dict key or attribute name.
-- @param objs a pygc object, or a table (sequence) of objects (pygc
-- objects or Lua values in the heap; wrap a Lua table to draw it: `{t}`)
-- @tparam[opt] table opts see `_GRAPH_DOC`
-- @treturn string the DOT text
-- @treturn table the figures
-- @function show_refs

public("show_refs", function(objs, opts)
  local o = graph_opts("show_refs", 2, opts)
  if o.lua_roots == nil then o.lua_roots = false end
  local argtable = type(objs) == "table" and objs or nil
  local text, info = graph("show_refs", start_objects("show_refs", objs), o, false, argtable)
  return text, info
end)

--- What refers to objs, as a DOT graph (objgraph.show_backrefs), with the
-- Lua roots that hold the drawn objects as nodes of their own.
-- @param objs as show_refs
-- @tparam[opt] table opts see `_GRAPH_DOC`
-- @treturn string the DOT text
-- @treturn table the figures
-- @function show_backrefs

public("show_backrefs", function(objs, opts)
  local o = graph_opts("show_backrefs", 2, opts)
  if o.lua_roots == nil then o.lua_roots = true end
  local argtable = type(objs) == "table" and objs or nil
  local text, info = graph("show_backrefs", start_objects("show_backrefs", objs), o, true, argtable)
  return text, info
end)

--- Draw one or more chains (from find_backref_chain or find_ref_chain) as
-- objgraph.show_chain does: the graph from each chain's end (backrefs,
-- the default) or start (`backrefs = false`), keeping only the chains'
-- objects.  The last argument may be an options table (any key of
-- show_refs' options, and `backrefs`); empty or nil chains are skipped.
-- @param ... chains, then optionally the options
-- @treturn string the DOT text
-- @treturn table the figures
-- @function show_chain

public("show_chain", function(...)
  local args = table.pack(...)
  local opts
  local last = args[args.n]
  if args.n >= 1 and type(last) == "table" and last[1] == nil and next(last) ~= nil then
    opts = last
    args.n = args.n - 1
  end
  local chains, members, depth = {}, {}, 0
  for i = 1, args.n do
    local c = args[i]
    if c ~= nil then
      if type(c) ~= "table" then typeerror("show_chain", i, "table", c) end
      for j, x in ipairs(c) do
        if kind(x) == nil then argerror("show_chain", i, ("chain[%d]: object expected, got %s"):format(j, tname(x))) end
        members[x] = true
      end
      if #c > 0 then chains[#chains + 1] = c; depth = math.max(depth, #c - 1) end
    end
  end
  if #chains == 0 then argerror("show_chain", 1, "no chain to draw") end
  local o = graph_opts("show_chain", args.n + 1, opts)
  local backrefs = true
  if opts and opts.backrefs ~= nil then backrefs = opts.backrefs and true or false end
  local user_filter = o.filter
  o.filter = function(x) return members[x] == true and (user_filter == nil or user_filter(x)) end
  o.max_depth = depth
  if o.lua_roots == nil then o.lua_roots = false end
  local starts = {}
  for _, c in ipairs(chains) do starts[#starts + 1] = backrefs and c[#c] or c[1] end
  local text, info = graph("show_chain", starts, o, backrefs, nil)
  return text, info
end)

return M
