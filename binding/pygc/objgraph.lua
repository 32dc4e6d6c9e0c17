--- objgraph's tools for the pygc heap: type counts and growth, leaking
-- objects, reference chains, and reference graphs written as Graphviz DOT
-- with the reference cycles highlighted.
--
--     local objgraph = require "pygc.objgraph"
-- @module pygc.objgraph
local gc = require "pygc"
local util = require "pygc.util"

local M = {}

local is_handle = util._is_handle

--- Counting by type
-- @section counts

--- How many tracked objects have this type name.
-- @string typename a `gc.type` name
-- @treturn integer
function M.count(typename)
  local n = 0
  for _, o in ipairs(gc.get_objects()) do if gc.type(o) == typename then n = n + 1 end end
  return n
end

--- The most common types of tracked objects, most common first.
-- @int[opt=10] limit how many
-- @treturn {table,...} `{type name, count}` pairs
function M.most_common_types(limit)
  local counts = util.object_type_counts()
  local list = {}
  for t, n in pairs(counts) do list[#list + 1] = { t, n } end
  table.sort(list, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(limit or 10, #list) do out[i] = list[i] end
  return out
end

--- Print `most_common_types`, one `name count` line each.
-- @int[opt=10] limit how many
-- @func[opt=print] write called with each line
function M.show_most_common_types(limit, write)
  write = write or print
  for _, e in ipairs(M.most_common_types(limit)) do write(("%-24s %d"):format(e[1], e[2])) end
end

local last_counts = {}
--- The types whose counts grew since the previous call (the first call
-- compares with nothing), biggest growth first, printed and returned.
-- @int[opt=10] limit how many
-- @tparam[opt=print] func|false write called with each line; false prints nothing
-- @treturn {table,...} `{type name, count, growth}` triples
function M.show_growth(limit, write)
  local counts = util.object_type_counts()
  local growth = {}
  for t, n in pairs(counts) do
    local d = n - (last_counts[t] or 0)
    if d > 0 then growth[#growth + 1] = { t, n, d } end
  end
  last_counts = counts
  table.sort(growth, function(a, b) if a[3] ~= b[3] then return a[3] > b[3] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(limit or 10, #growth) do
    out[i] = growth[i]
    if write ~= false then (write or print)(("%-24s %8d %+8d"):format(growth[i][1], growth[i][2], growth[i][3])) end
  end
  return out
end

--- Every tracked object of this type name.
-- @string typename a `gc.type` name
-- @treturn {userdata,...} handles
function M.by_type(typename)
  local out = {}
  for _, o in ipairs(gc.get_objects()) do if gc.type(o) == typename then out[#out + 1] = o end end
  return out
end

--- Leaks and chains
-- @section leaks

--- Tracked objects that no other tracked object refers to: what the heap
-- itself does not hold (held from outside, by Lua or a C host, or garbage
-- that is about to go).
-- @treturn {userdata,...} handles
function M.get_leaking_objects()
  local objs = gc.get_objects()
  local referenced = {}
  for _, o in ipairs(objs) do
    for _, r in ipairs(gc.get_referents(o)) do
      if is_handle(r) then referenced[gc.id(r)] = true end
    end
  end
  local out = {}
  for _, o in ipairs(objs) do if not referenced[gc.id(o)] then out[#out + 1] = o end end
  return out
end

-- Objects held from outside the heap: Lua handles or C references beyond
-- what the heap's own containers account for.  `held` is the set of ids of
-- objects some Lua value holds (computed once per query).
local function outside_holders()
  local held = {}
  for _, o in ipairs(M.get_leaking_objects()) do held[gc.id(o)] = true end
  return held
end

--- The shortest chain `{root, ..., obj}` along referrers from obj back to an
-- object satisfying predicate.
-- @param obj a handle
-- @func[opt] predicate `predicate(o)` true for a root; default: an object
-- nothing in the heap refers to, i.e. one held from outside
-- @int[opt=20] max_depth
-- @treturn ?{userdata,...} the chain, or nil when none within max_depth
function M.find_backref_chain(obj, predicate, max_depth)
  max_depth = max_depth or 20
  local roots = predicate == nil and outside_holders() or nil
  predicate = predicate or function(o) return roots[gc.id(o)] == true end
  if predicate(obj) then return { obj } end
  local parent, seen = {}, { [gc.id(obj)] = true }
  local level = { obj }
  for _ = 1, max_depth do
    local nextlevel = {}
    for _, target in ipairs(level) do
      for _, r in ipairs(gc.get_referrers(target)) do
        local id = gc.id(r)
        if not seen[id] then
          seen[id] = true
          parent[id] = target
          if predicate(r) then
            local chain = { r }
            local cur = r
            while parent[gc.id(cur)] do
              cur = parent[gc.id(cur)]
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

-- ---- graphs -----------------------------------------------------------------------

local function label(o)
  local t = gc.type(o)
  local text
  if t == "list" or t == "tuple" or t == "dict" then
    text = ("%s\n%d items"):format(t, #o)
  else
    text = t
  end
  return text
end

local function quote(s) return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"' end

-- Strongly connected components (Tarjan, iterative) of the drawn graph:
-- nodes and edges inside a component of more than one node, or a node with
-- an edge to itself, lie on a cycle.
local function cyclic_nodes(ids, edges)
  local index, low, on, stack, comp = {}, {}, {}, {}, {}
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
              comp[w] = v
            until w == v
            if #members > 1 then for _, w in ipairs(members) do cyclic[w] = true end end
          end
        end
      end
    end
  end
  return cyclic, comp
end

-- Walk from objs along referents (forward) or referrers (backwards) up to
-- max_depth, and write DOT.  Options: max_depth (3), filename (returns the
-- text when nil), too_many (fan-out limit, 10).
local function graph(objs, opts, backwards)
  opts = opts or {}
  local max_depth, too_many = opts.max_depth or 3, opts.too_many or 10
  if is_handle(objs) then objs = { objs } end
  local nodes, ids, edges = {}, {}, {}
  local level = {}
  for _, o in ipairs(objs) do
    local id = gc.id(o)
    if not nodes[id] then nodes[id] = { obj = o, depth = 0, start = true }; ids[#ids + 1] = id; level[#level + 1] = o end
  end
  for depth = 1, max_depth do
    local nextlevel = {}
    for _, o in ipairs(level) do
      local neighbours = {}
      if backwards then
        for _, r in ipairs(gc.get_referrers(o)) do
          local lab = ""
          for _, e in ipairs(util._object_children(r)) do if rawequal(e[1], o) then lab = e[2]; break end end
          neighbours[#neighbours + 1] = { r, lab }
        end
      else
        for _, e in ipairs(util._object_children(o)) do if is_handle(e[1]) then neighbours[#neighbours + 1] = e end end
      end
      for i, nb in ipairs(neighbours) do
        if i > too_many then break end
        local x, lab = nb[1], nb[2]
        local xid = gc.id(x)
        if not nodes[xid] then
          nodes[xid] = { obj = x, depth = depth }
          ids[#ids + 1] = xid
          nextlevel[#nextlevel + 1] = x
        end
        if backwards then edges[#edges + 1] = { xid, gc.id(o), lab } else edges[#edges + 1] = { gc.id(o), xid, lab } end
      end
    end
    level = nextlevel
    if #level == 0 then break end
  end
  local cyclic = cyclic_nodes(ids, edges)
  local out = { "digraph ObjectGraph {", "  node[shape=box, style=filled, fillcolor=white];" }
  for _, id in ipairs(ids) do
    local n = nodes[id]
    local color = n.start and "lightyellow" or (cyclic[id] and "lightpink" or "white")
    out[#out + 1] = ("  o%d [label=%s, fillcolor=%s%s];"):format(id, quote(label(n.obj)), color, cyclic[id] and ", color=red" or "")
  end
  for _, e in ipairs(edges) do
    local red = cyclic[e[1]] and cyclic[e[2]]
    out[#out + 1] = ("  o%d -> o%d [label=%s%s];"):format(e[1], e[2], quote(e[3]), red and ", color=red" or "")
  end
  out[#out + 1] = "}"
  local text = table.concat(out, "\n") .. "\n"
  if opts.filename then
    local f = assert(io.open(opts.filename, "w"))
    f:write(text)
    f:close()
  end
  return text, { nodes = #ids, edges = #edges, cyclic = cyclic }
end

--- Graphs
-- @section graphs

--- What objs refer to, as a Graphviz DOT graph (`dot -Tpng` renders it).
-- Objects and edges on reference cycles are drawn in red, the starting
-- objects in yellow.
-- @param objs a handle or a sequence of handles
-- @tparam[opt] table opts `max_depth` (3), `too_many` (the most edges
-- followed from one object, 10), `filename` (also write the DOT there)
-- @treturn string the DOT text
-- @treturn table `{nodes =, edges =, cyclic = {[id] = true}}`
function M.show_refs(objs, opts) return graph(objs, opts, false) end
--- What refers to objs, as a Graphviz DOT graph; as `show_refs`.
-- @param objs a handle or a sequence of handles
-- @tparam[opt] table opts as `show_refs`
-- @treturn string the DOT text
-- @treturn table `{nodes =, edges =, cyclic = {[id] = true}}`
function M.show_backrefs(objs, opts) return graph(objs, opts, true) end

return M
