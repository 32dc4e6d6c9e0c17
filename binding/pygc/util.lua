--- The helper pipeline Python users write around gc, for the pygc heap,
-- and "why is this alive?": the shortest chain from what holds an object
-- outside the heap (a Lua global, local, upvalue, registry entry or table
-- field) down to the object.
--
--     local util = require "pygc.util"
-- @module pygc.util
local gc = require "pygc"

local M = {}

-- ---- collection and tuning ---------------------------------------------------

--- Collection and tuning
-- @section tuning

--- A full collection after Lua has dropped its dead handles:
-- `collectgarbage()` twice, then `gc.collect(2)`.
-- @treturn integer the number of unreachable objects found
function M.force_collect()
  collectgarbage()
  collectgarbage()
  return gc.collect(2)
end

--- The counts of `gc.get_count` by name.
-- @treturn table `{gen0 =, gen1 =, gen2 =}`
function M.gc_counts()
  local a, b, c = gc.get_count()
  return { gen0 = a, gen1 = b, gen2 = c }
end

--- The thresholds of `gc.get_threshold` by name.
-- @treturn table `{gen0 =, gen1 =, gen2 =}`
function M.gc_thresholds()
  local a, b, c = gc.get_threshold()
  return { gen0 = a, gen1 = b, gen2 = c }
end

--- Set thresholds (missing ones keep their value); `tune_gc()` restores
-- CPython's defaults, 700, 10, 10.
-- @int[opt] g0 threshold 0
-- @int[opt] g1 threshold 1
-- @int[opt] g2 threshold 2
-- @treturn table the thresholds, as `gc_thresholds`
function M.tune_gc(g0, g1, g2)
  if g0 == nil then
    gc.set_threshold(700, 10, 10)
  else
    local _, c1, c2 = gc.get_threshold()
    gc.set_threshold(g0, g1 or c1, g2 or c2)
  end
  return M.gc_thresholds()
end

--- Counts of the tracked objects by type name.
-- @int[opt] generation only this generation (0, 1 or 2)
-- @treturn table `{[type name] = count}`
function M.object_type_counts(generation)
  local counts = {}
  for _, o in ipairs(gc.get_objects(generation)) do
    local t = gc.type(o)
    counts[t] = (counts[t] or 0) + 1
  end
  return counts
end

--- The tracked objects that refer to obj.  The tool's own temporaries are
-- Lua tables, which the heap never sees, so nothing needs filtering out;
-- obj itself, when it refers to itself, is kept (it is a referrer).
-- @param obj a handle
-- @treturn {userdata,...} a Lua sequence of handles
function M.find_referrers(obj)
  return gc.get_referrers(obj)
end

local function short(o)
  if gc.type(o) == "list" or gc.type(o) == "tuple" or gc.type(o) == "dict" then
    return ("<%s len=%d>"):format(gc.type(o), #o)
  end
  return ("<%s>"):format(gc.type(o))
end

--- Breadth-first lines of who refers to whom, up to max_depth levels from
-- obj: `"depth 2: <dict len=1> -> <list len=3>"`.
-- @param obj a handle
-- @int[opt=3] max_depth levels of referrers to follow
-- @treturn {string,...} the lines
function M.ref_chain(obj, max_depth)
  max_depth = max_depth or 3
  local lines, seen = {}, { [gc.id(obj)] = true }
  local level = { obj }
  for depth = 1, max_depth do
    local nextlevel = {}
    for _, target in ipairs(level) do
      for _, r in ipairs(gc.get_referrers(target)) do
        lines[#lines + 1] = ("depth %d: %s -> %s"):format(depth, short(r), short(target))
        if not seen[gc.id(r)] then
          seen[gc.id(r)] = true
          nextlevel[#nextlevel + 1] = r
        end
      end
    end
    if #nextlevel == 0 then break end
    level = nextlevel
  end
  return lines
end

-- A live pygc handle (the one definition the toolkit modules share).
local function is_handle(v) return type(v) == "userdata" and pcall(gc.id, v) end
M._is_handle = is_handle

-- The pygc objects v refers to directly, with the label of each edge.
-- What a pygc object refers to, as the collector sees it (gc._edges: one
-- visitor per type, so C host types are walked like the built-in ones),
-- each child with its label: [3], ['key'], .attr, __class__, a host slot.
-- Lua values the object holds are children too.
local function object_children(v)
  local ok, ch, lab = pcall(gc._edges, v)
  if not ok then return {} end
  local out = {}
  for i = 1, #lab do out[#out + 1] = { ch[i], lab[i] } end
  return out
end
M._object_children = object_children

--- True exactly when obj lies on a reference cycle: following referents
-- from obj leads back to it.  Runs no collection.
-- @param obj a handle
-- @treturn boolean
function M.has_cycle(obj)
  local target = gc.id(obj)
  local seen, stack = {}, { obj }
  while #stack > 0 do
    local o = table.remove(stack)
    for _, edge in ipairs(object_children(o)) do
      local x = edge[1]
      if is_handle(x) then
        local id = gc.id(x)
        if id == target then return true end
        if not seen[id] then
          seen[id] = true
          stack[#stack + 1] = x
        end
      end
    end
  end
  return false
end

-- ---- memory snapshots -------------------------------------------------------------

--- Counts and bytes of the tracked objects at one moment.
-- Fields: `groups` (`{[key] = {key =, count =, bytes =}}`), `top`,
-- `key_type`, `heap_bytes`, `objects`, `time`.
-- @type MemorySnapshot
local MemorySnapshot = {}
MemorySnapshot.__index = MemorySnapshot
M.MemorySnapshot = MemorySnapshot

--- Take a snapshot: count and bytes of the tracked objects, grouped.
-- @int[opt=10] top how many groups `report` shows by default
-- @string[opt="type"] key_type `"type"` or `"generation"`
-- @treturn MemorySnapshot
function MemorySnapshot.take(top, key_type)
  key_type = key_type or "type"
  assert(key_type == "type" or key_type == "generation", "key_type must be 'type' or 'generation'")
  local groups = {}
  local function add(key, o)
    local g = groups[key]
    if not g then g = { key = key, count = 0, bytes = 0 }; groups[key] = g end
    g.count = g.count + 1
    g.bytes = g.bytes + gc.sizeof(o)
  end
  if key_type == "type" then
    for _, o in ipairs(gc.get_objects()) do add(gc.type(o), o) end
  else
    for g = 0, 2 do for _, o in ipairs(gc.get_objects(g)) do add("generation " .. g, o) end end
  end
  local info = gc.heap_info()
  return setmetatable({ groups = groups, top = top or 10, key_type = key_type, heap_bytes = info.bytes,
    objects = info.objects, time = os.time() }, MemorySnapshot)
end

--- The groups, most bytes first.
-- @treturn {table,...} `{key =, count =, bytes =}` each
function MemorySnapshot:sorted()
  local list = {}
  for _, g in pairs(self.groups) do list[#list + 1] = g end
  table.sort(list, function(a, b) if a.bytes ~= b.bytes then return a.bytes > b.bytes end return a.key < b.key end)
  return list
end

--- Lines `"Node: 1000 objects, 72000 bytes"`, largest first.
-- @int[opt] n how many groups (default: the snapshot's `top`)
-- @treturn {string,...} the lines
function MemorySnapshot:report(n)
  local lines = {}
  for i, g in ipairs(self:sorted()) do
    if i > (n or self.top) then break end
    lines[#lines + 1] = ("%s: %d objects, %d bytes"):format(g.key, g.count, g.bytes)
  end
  return lines
end

--- Comparing snapshots
-- @section diff

--- Lines of the groups that changed between two snapshots, largest change
-- in bytes first: `"Node: +1000 objects, +72000 bytes"`.
-- @tparam MemorySnapshot before
-- @tparam MemorySnapshot after
-- @int[opt=10] top how many lines
-- @treturn {string,...} the lines
-- @treturn {table,...} every change, `{key =, count =, bytes =}`
function M.memory_diff(before, after, top)
  local keys, diffs = {}, {}
  for k in pairs(before.groups) do keys[k] = true end
  for k in pairs(after.groups) do keys[k] = true end
  for k in pairs(keys) do
    local b, a = before.groups[k] or { count = 0, bytes = 0 }, after.groups[k] or { count = 0, bytes = 0 }
    if a.count ~= b.count or a.bytes ~= b.bytes then
      diffs[#diffs + 1] = { key = k, count = a.count - b.count, bytes = a.bytes - b.bytes }
    end
  end
  table.sort(diffs, function(x, y)
    if math.abs(x.bytes) ~= math.abs(y.bytes) then return math.abs(x.bytes) > math.abs(y.bytes) end
    return x.key < y.key
  end)
  local lines = {}
  for i, d in ipairs(diffs) do
    if i > (top or 10) then break end
    lines[#lines + 1] = ("%s: %+d objects, %+d bytes"):format(d.key, d.count, d.bytes)
  end
  return lines, diffs
end

-- ---- collector statistics ------------------------------------------------------------

--- Statistics of the collections from `gc.callbacks`.
-- Fields: `collections` (per generation), `collected`, `uncollectable`,
-- `total_pause`, `longest_pause` (seconds).
-- @type GCStatsCollector
local GCStatsCollector = {}
GCStatsCollector.__index = GCStatsCollector
M.GCStatsCollector = GCStatsCollector

--- Start counting collections per generation, objects freed, total and
-- longest pause, from `gc.callbacks`, until `uninstall`.
-- @treturn GCStatsCollector
function GCStatsCollector.install()
  local self = setmetatable({ collections = { 0, 0, 0 }, collected = 0, uncollectable = 0,
    total_pause = 0, longest_pause = 0 }, GCStatsCollector)
  self.callback = function(phase, info)
    if phase ~= "stop" then return end
    local g = info.generation + 1
    self.collections[g] = self.collections[g] + 1
    self.collected = self.collected + info.collected
    self.uncollectable = self.uncollectable + info.uncollectable
    self.total_pause = self.total_pause + info.duration
    if info.duration > self.longest_pause then self.longest_pause = info.duration end
  end
  gc.callbacks[#gc.callbacks + 1] = self.callback
  return self
end

--- Stop counting: remove the collector's callback from `gc.callbacks`.
function GCStatsCollector:uninstall()
  for i = #gc.callbacks, 1, -1 do
    if gc.callbacks[i] == self.callback then table.remove(gc.callbacks, i) end
  end
end

--- The figures and a line of text.
-- @treturn table `collections` (`{gen0 =, gen1 =, gen2 =}`), `collected`,
-- `uncollectable`, `total_pause`, `longest_pause`, and `text`
function GCStatsCollector:report()
  local r = {
    collections = { gen0 = self.collections[1], gen1 = self.collections[2], gen2 = self.collections[3] },
    collected = self.collected, uncollectable = self.uncollectable,
    total_pause = self.total_pause, longest_pause = self.longest_pause,
  }
  r.text = ("collections gen0=%d gen1=%d gen2=%d, %d objects freed, %d uncollectable, pauses %.3f ms total, %.3f ms longest")
    :format(r.collections.gen0, r.collections.gen1, r.collections.gen2, r.collected, r.uncollectable,
      r.total_pause * 1000, r.longest_pause * 1000)
  return r
end

--- Before fork
-- @section fork

--- Before `fork()`: disable, collect, then move every object to the
-- permanent generation, so that collections in the child never write to
-- (and so never copy) the parent's pages.  In the child, `gc.enable()`
-- resumes automatic collection of new objects.
-- @treturn integer the number of frozen objects
function M.freeze_before_fork()
  gc.disable()
  M.force_collect()
  gc.freeze()
  return gc.get_freeze_count()
end

-- ---- why is this alive? -------------------------------------------------------------

local function key_label(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return "." .. k end
  if type(k) == "string" then return ("[%q]"):format(k) end
  return ("[%s]"):format(tostring(k))
end

-- Every Lua root: globals, the registry, and the locals of the caller's
-- stack; coroutines, upvalues, metatables and table fields are followed
-- from there.  Yields {value, path}.
local function lua_roots(level, skip)
  local roots = { { _G, "_G" }, { debug.getregistry(), "registry" } }
  local first = level
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    local where = ("%s:%d"):format(info.short_src, info.currentline)
    for i = 1, 250 do
      local name, value = debug.getlocal(level, i)
      if not name then break end
      -- the caller's own locals holding the object asked about are the
      -- question, not the answer
      if name:sub(1, 1) ~= "(" and not (level == first and rawequal(value, skip)) then
        roots[#roots + 1] = { value, ("local '%s' (%s)"):format(name, where) }
      end
    end
    level = level + 1
  end
  return roots
end

--- Why is this alive
-- @section why

--- The shortest chains from the Lua roots to obj, e.g.
-- `_G.cache.users -> <list>[3] -> <Session>.conn -> <Socket>`.
-- The roots are globals, the registry and the locals of the stack, with
-- coroutines, upvalues, metatables and table fields followed from there;
-- the caller's own locals holding obj are left out.
-- @param obj a handle
-- @int[opt=1] limit how many chains, shortest first
-- @treturn string|{string,...} the chain (a sequence of chains when limit > 1),
-- or nil when nothing in Lua holds obj (only a C host or a cycle of garbage does)
function M.why_alive(obj, limit)
  limit = limit or 1
  local target = gc.id(obj)
  -- The search is breadth first over nodes {value, parent node, edge
  -- label}; a chain's text is built only for the chains found, by walking
  -- parents back (a path string per node would make deep chains quadratic).
  local seen, queue, head = {}, {}, 1
  local found = {}
  local function push(value, parent, label) queue[#queue + 1] = { value, parent, label } end
  local function path_of(node, last)
    local parts = { last }
    while node do
      parts[#parts + 1] = node[3]
      node = node[2]
    end
    local n = #parts
    for i = 1, n // 2 do parts[i], parts[n + 1 - i] = parts[n + 1 - i], parts[i] end
    return table.concat(parts)
  end
  -- the running thread's frames are walked below from the caller up; its
  -- own top frames belong to this tool
  seen[coroutine.running()] = true
  for _, r in ipairs(lua_roots(3, obj)) do push(r[1], nil, r[2]) end
  local budget = 2000000
  while head <= #queue and budget > 0 and #found < limit do
    local node = queue[head]
    local value = node[1]
    queue[head] = false
    head = head + 1
    budget = budget - 1
    local tv = type(value)
    local key = value
    local handle = tv == "userdata" and is_handle(value)
    if handle then key = "pygc:" .. gc.id(value) end
    if (tv == "table" or tv == "function" or tv == "thread" or tv == "userdata") and not seen[key] then
      seen[key] = true
      if handle then
        if gc.id(value) == target then
          found[#found + 1] = path_of(node, " -> <" .. gc.type(value) .. ">")
        else
          local here = " -> <" .. gc.type(value) .. ">"
          for _, edge in ipairs(object_children(value)) do push(edge[1], node, here .. edge[2]) end
        end
      elseif tv == "table" then
        if value ~= queue and value ~= seen then
          local mt = debug.getmetatable(value)
          local mode = mt and rawget(mt, "__mode") or ""
          local weak_k, weak_v = type(mode) == "string" and mode:find("k"), type(mode) == "string" and mode:find("v")
          for k, v in next, value do
            if not weak_v then push(v, node, key_label(k)) end
            if not weak_k and type(k) ~= "string" and type(k) ~= "number" then
              push(k, node, "<key " .. tostring(k) .. ">")
            end
          end
          if mt then push(mt, node, "<metatable>") end
        end
      elseif tv == "function" then
        for i = 1, 255 do
          local name, v = debug.getupvalue(value, i)
          if not name then break end
          push(v, node, ("<upvalue %s>"):format(name ~= "" and name or tostring(i)))
        end
      elseif tv == "thread" then
        for level = 0, 200 do
          local info = debug.getinfo(value, level, "Sl")
          if not info then break end
          for i = 1, 250 do
            local name, v = debug.getlocal(value, level, i)
            if not name then break end
            push(v, node, ("<coroutine local '%s' %s:%d>"):format(name, info.short_src, info.currentline))
          end
        end
      elseif tv == "userdata" then
        local mt = debug.getmetatable(value)
        if mt then push(mt, node, "<metatable>") end
        local uv = debug.getuservalue(value)
        if uv ~= nil then push(uv, node, "<uservalue>") end
      end
    end
  end
  if #found == 0 then return nil end
  return limit == 1 and found[1] or found
end

-- ---- leak assertions --------------------------------------------------------------

--- The leak assertion: run fn(...), drop what it returned, collect both
-- heaps, and raise an error naming every tracked object fn created that
-- is still alive, each with why_alive's chain (or its referrers inside the
-- heap when nothing in Lua holds it).  Returns true when all were freed.
-- Objects are told apart by gc.id: one made by fn at the address of an
-- object that died meanwhile is not noticed (a false negative only).
-- @tparam function fn
-- @param ... its arguments
-- @treturn boolean true
function M.assert_freed(fn, ...)
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    error(("bad argument #1 to 'assert_freed' (function expected, got %s)"):format(type(fn)), 2)
  end
  local before = {}
  do
    local objs = gc.get_objects()
    for i = 1, #objs do before[gc.id(objs[i])] = true end
  end
  collectgarbage()
  fn(...)
  collectgarbage()
  collectgarbage()
  gc.collect()
  collectgarbage()
  gc.collect()
  local leaked = {}
  do
    local objs = gc.get_objects()
    for i = 1, #objs do
      if not before[gc.id(objs[i])] then leaked[#leaked + 1] = gc.id(objs[i]) end
    end
  end
  if #leaked == 0 then return true end
  local lines = { ("assert_freed: %d object(s) created by the function are still alive:"):format(#leaked) }
  for i = 1, math.min(#leaked, 10) do
    local o
    for _, x in ipairs(gc.get_objects()) do
      if gc.id(x) == leaked[i] then o = x break end
    end
    if o ~= nil then
      local chain = M.why_alive(o)
      if not chain then
        local refs = gc.get_referrers(o)
        local names = {}
        for j = 1, math.min(#refs, 3) do names[#names + 1] = short(refs[j]) end
        chain = #names > 0 and ("held inside the heap by " .. table.concat(names, ", "))
          or "held by no tracked object (a C host or an uncollectable cycle?)"
      end
      lines[#lines + 1] = ("  %s: %s"):format(short(o), chain)
    end
  end
  if #leaked > 10 then lines[#lines + 1] = ("  ... and %d more"):format(#leaked - 10) end
  error(table.concat(lines, "\n"), 2)
end

return M
