-- The Lua boundary (issue 12): integer conversions, iteration over a
-- changing dict, protected metatables, the tracer's records under
-- finalizers, leak-free argument conversion, module state, and linear
-- path reporting.  Each group failed before its fix (the memory ones
-- under ASan/UBSan).
local S = require "spec.support"
local gc = S.gc

local function errors_with(fn, pattern)
  local ok, e = pcall(fn)
  assert(not ok, "expected an error matching " .. pattern)
  assert(tostring(e):find(pattern, 1, true), "error '" .. tostring(e) .. "' does not say " .. pattern)
end

describe("integers from Lua (defect 4)", function()
  before_each(S.reset)
  after_each(S.verify)

  it("the sequence iterator takes any control value without overflow", function()
    for _, l in ipairs { gc.new_list { 1, 2 }, gc.new_tuple { 1, 2 } } do
      local f = pairs(l)
      for _, k in ipairs { math.maxinteger, math.maxinteger - 1, math.mininteger, -1, 2, 3, 100 } do
        assert.is_nil((f(l, k)))
      end
      assert.are.same({ 1, 1 }, { f(l, 0) })
      assert.are.same({ 2, 2 }, { f(l, 1) })
      S.verify()
    end
  end)

  it("an iterator refuses an object of another kind or another object", function()
    local l, d = gc.new_list { 1 }, gc.new_dict { a = 1 }
    local seq = pairs(l)
    errors_with(function() seq(d, 0) end, "bad argument #1")
    local o = gc.class("P") { x = 1 }
    errors_with(function() seq(o, 0) end, "bad argument #1")
    local map = pairs(d)
    errors_with(function() map(l) end, "bad argument #1")
    errors_with(function() map(gc.new_dict { b = 2 }) end, "bad argument #1")
    errors_with(function() map(o) end, "bad argument #1")
    local attrs = pairs(o)
    errors_with(function() attrs(d) end, "bad argument #1")
    S.verify()
  end)

  it("indices at the edges of the integer range read nil and refuse to store", function()
    local l = gc.new_list { 1, 2, 3 }
    for _, i in ipairs { math.maxinteger, math.mininteger, 0, -1 } do
      assert.is_nil(l[i])
      errors_with(function() l[i] = 1 end, "list assignment index out of range")
      l[i] = nil -- nothing there: nothing to do
    end
    local t = gc.new_tuple { 1 }
    assert.is_nil(t[math.maxinteger]); assert.is_nil(t[math.mininteger])
    assert.are.equal(3, #l)
    S.verify()
  end)

  it("the table library's edge shapes give Lua's errors, never undefined behaviour", function()
    local l = gc.new_list { 1, 2, 3 }
    assert.is_false((pcall(table.insert, l, math.maxinteger, 1)))
    assert.is_false((pcall(table.insert, l, math.mininteger, 1)))
    assert.is_false((pcall(table.move, l, 1, math.maxinteger, 2)))
    assert.is_false((pcall(table.move, l, 1, 3, math.maxinteger)))
    assert.is_false((pcall(table.move, l, math.mininteger, 1, 1)))
    assert.is_false((pcall(table.unpack, l, 1, math.maxinteger)))
    assert.is_false((pcall(table.concat, l, "", 1, math.maxinteger)))
    assert.is_false((pcall(table.remove, l, math.maxinteger)))
    for _ in ipairs(l) do end
    assert.are.same({ 1, 2, 3 }, { table.unpack(l) })
    S.verify()
  end)

  it("a sequence whose length is huge or negative is refused or read as empty", function()
    local huge = setmetatable({}, { __len = function() return math.maxinteger end,
      __index = function(_, i) if i <= 10 then return 1 end end })
    errors_with(function() gc.new_list(huge) end, "bad argument #1 to 'new_list'")
    errors_with(function() gc.new_tuple(huge) end, "bad argument #1 to 'new_tuple'")
    local neg = setmetatable({}, { __len = function() return math.mininteger end })
    assert.are.equal(0, #gc.new_list(neg))
    assert.are.equal(0, #gc.new_tuple(neg))
    S.verify()
  end)

  it("generations, thresholds, debug flags and frame counts refuse the integer extremes", function()
    for _, v in ipairs { math.maxinteger, math.mininteger, -1 } do
      errors_with(function() gc.collect(v) end, "invalid generation")
      errors_with(function() gc.get_objects(v) end, "invalid generation")
      errors_with(function() gc.set_threshold(v) end, "bad argument #1 to 'set_threshold'")
      errors_with(function() gc.set_debug(v) end, "bad argument #1 to 'set_debug'")
      errors_with(function() gc._trace_start(v) end, "bad argument #1")
    end
    S.verify()
  end)
end)

describe("iteration while keys change (defect 5)", function()
  before_each(S.reset)
  after_each(S.verify)

  local function fill(d, n)
    for i = 1, n do d["k" .. i] = i end
    return d
  end

  it("delete one key and insert another: dict keys changed, every size", function()
    for _, n in ipairs { 1, 2, 3, 5, 8, 9, 20, 100 } do
      local d = fill(gc.new_dict(), n)
      errors_with(function()
        for k in pairs(d) do d[k] = nil; d[k .. "y"] = 1 end
      end, "dict keys changed during iteration")
      assert.are.equal(n, #d)
      S.verify()
    end
  end)

  it("delete a key and reinsert the same key: keys changed", function()
    for _, n in ipairs { 1, 3, 9, 40 } do
      local d = fill(gc.new_dict(), n)
      errors_with(function()
        for k, v in pairs(d) do d[k] = nil; d[k] = v end
      end, "dict keys changed during iteration")
      assert.are.equal(n, #d)
    end
  end)

  it("an insertion that grows or compacts the table, then a deletion", function()
    for _, n in ipairs { 2, 8, 9, 12, 64 } do
      local d = fill(gc.new_dict(), n)
      -- many deleted entries: the next insertion compacts the table
      for i = 1, n - 1 do d["k" .. i] = nil end
      for i = 1, n - 1 do d["j" .. i] = i end
      errors_with(function()
        for k in pairs(d) do
          d["new" .. k] = 1; d[k] = nil
        end
      end, "dict keys changed during iteration")
    end
  end)

  it("a change by a finalizer or another loop is seen too", function()
    local d = fill(gc.new_dict(), 5)
    local C = gc.class("Mutator", { __del = function() d.k1 = nil; d.fresh = 1 end })
    errors_with(function()
      for k in pairs(d) do
        if k == "k2" then gc.release(C {}) end
      end
    end, "dict keys changed during iteration")
  end)

  it("growth and shrinking keep the size message", function()
    local d = fill(gc.new_dict(), 5)
    errors_with(function() for k in pairs(d) do d[k .. "x"] = 1 end end, "dict changed size during iteration")
    errors_with(function() for k in pairs(d) do d[k] = nil end end, "dict changed size during iteration")
  end)

  it("updating values while iterating stays allowed", function()
    local d = fill(gc.new_dict(), 20)
    local seen = 0
    for k, v in pairs(d) do d[k] = v * 2; seen = seen + 1 end
    assert.are.equal(20, seen)
    assert.are.equal(40, d.k20)
    local o = gc.class("V") { a = 1, b = 2, c = 3 }
    seen = 0
    for k, v in pairs(o) do o[k] = v + 1; seen = seen + 1 end
    assert.are.equal(3, seen)
  end)

  it("instances: delete+insert, reinsert, and size changes", function()
    local Cls = gc.class("Attrs")
    for _, n in ipairs { 1, 3, 8, 9, 30 } do
      local attrs = {}
      for i = 1, n do attrs["a" .. i] = i end
      local o = Cls(attrs)
      errors_with(function()
        for k in pairs(o) do o[k] = nil; o[k .. "y"] = 1 end
      end, "instance keys changed during iteration")
      errors_with(function()
        for k, v in pairs(o) do o[k] = nil; o[k] = v end
      end, "instance keys changed during iteration")
      errors_with(function() for k in pairs(o) do o[k .. "z"] = 1 end end, "instance changed size during iteration")
      local count = 0
      for _ in pairs(o) do count = count + 1 end
      assert.are.equal(n + 1, count)
      S.verify()
    end
  end)

  it("the keys version is visible in C through pygc_keys_version (unchanged by value updates)", function()
    -- seen through the iterator: a value update mid-loop never raises,
    -- so every original key is visited exactly once
    local d = fill(gc.new_dict(), 50)
    local visited = {}
    for k in pairs(d) do
      assert.is_nil(visited[k]); visited[k] = true
      d[k] = "updated"
    end
    local n = 0
    for _ in pairs(visited) do n = n + 1 end
    assert.are.equal(50, n)
  end)
end)

describe("protected metatables (defect 7)", function()
  before_each(S.reset)
  after_each(S.verify)

  it("a handle's metatable cannot be read or replaced", function()
    local l = gc.new_list()
    local mt = getmetatable(l)
    assert.are_not.equal("table", type(mt))
    assert.is_false((pcall(setmetatable, l, {})))
    assert.is_false((pcall(function() getmetatable(l).__gc = nil end)))
    assert.is_false((pcall(function() getmetatable(l).__index = function() return 42 end end)))
    -- every later handle still releases its object
    local before = gc.heap_info().objects
    for _ = 1, 50 do local _ = gc.new_list { 1 } end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, gc.heap_info().objects)
    assert.is_nil(gc.new_list { 1 }[2])
  end)

  it("gc.None's and the heap anchor's metatables are protected too", function()
    assert.are_not.equal("table", type(getmetatable(gc.None)))
    assert.are.equal("None", tostring(gc.None))
    assert.is_false((pcall(function() getmetatable(gc.None).__tostring = nil end)))
    -- the anchor is reachable only through the registry; its metatable is
    -- protected all the same
    for _, v in pairs(debug.getregistry()) do
      if type(v) == "userdata" and v ~= gc.None and not pcall(gc.id, v) then
        local mt = getmetatable(v)
        if mt == "pygc.heap" then assert.is_false((pcall(setmetatable, v, nil))) end
      end
    end
  end)

  it("the module table's metatable is protected", function()
    assert.are_not.equal("table", type(getmetatable(gc)))
    assert.is_false((pcall(setmetatable, gc, nil)))
  end)

  it("the toolkit still tells handles from other values", function()
    local util = require "pygc.util"
    local objgraph = require "pygc.objgraph"
    local a = gc.new_list()
    local b = gc.new_list { a }
    a[1] = b
    assert.is_true(util.has_cycle(a))
    assert.are.equal("list", gc.type(a))
    assert.is_true(gc._is_handle(a))
    assert.is_false(gc._is_handle(gc.None))
    assert.is_false(gc._is_handle({}))
    assert.is_false(gc._is_handle(io.stdout))
    assert.is_false(gc._is_handle(1))
    assert.is_table(objgraph.by_type and objgraph.by_type("list") or {})
    a[1] = nil
  end)
end)

describe("module state no script can release (defect 8)", function()
  before_each(S.reset)
  after_each(S.verify)

  local function make_legacy_garbage()
    local Old = gc.class("Old", { legacy = true, __del = function() end })
    local a = Old {}
    a.self = a
    gc.release(a)
    -- generation 0 only: other spec files count generation 2's
    -- uncollectable total from a fresh process
    return gc.collect(0)
  end

  local function garbage_works()
    local g = gc.garbage
    assert.are.equal("list", gc.type(g))
    local n = #g
    make_legacy_garbage()
    assert.are.equal(n + 1, #gc.garbage)
    assert.are.equal("Old", gc.type(gc.garbage[n + 1]))
    S.reset()
    assert.are.equal(0, #gc.garbage)
  end

  it("releasing gc.garbage's handle leaves gc.garbage usable", function()
    gc.release(gc.garbage)
    garbage_works()
    local g <close> = gc.garbage -- luacheck: ignore g
  end)

  it("releasing the garbage list as found by get_objects leaves gc.garbage usable", function()
    local g = gc.garbage
    local found = false
    for _, o in ipairs(gc.get_objects()) do
      if rawequal(o, g) then found = true; gc.release(o) end
    end
    assert.is_true(found)
    garbage_works()
    -- and again, with every handle Lua had gone
    g = nil; collectgarbage(); collectgarbage()
    -- (get_objects lists Lua values the heap holds too, a live class's
    -- methods say: they are no handles to release)
    for _, o in ipairs(gc.get_objects()) do
      if not gc.type(o):match("^Lua ") then gc.release(o) end
    end
    garbage_works()
  end)

  it("gc.garbage cannot be replaced, and the module's metatable is protected", function()
    errors_with(function() gc.garbage = gc.new_list() end, "gc.garbage cannot be replaced")
    assert.is_false((pcall(setmetatable, gc, {})))
    -- other fields stay assignable as before
    gc.unraisablehook = gc.unraisablehook
    gc.callbacks = {}
    garbage_works()
  end)
end)

-- Run code in a fresh lua5.4 with this process's LUA_CPATH, LUA_PATH and
-- LD_PRELOAD (so under ASan it loads the sanitized module): for scenarios
-- that need Lua's collector at nearly every allocation, which a busted
-- process's large heap makes far too slow.  Returns the output and success.
local function run_child(code)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(code)
  f:close()
  local p = io.popen((os.getenv("PYGC_LUA") or "lua5.4") .. " " .. path .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  os.remove(path)
  return out, ok
end

describe("the tracer under finalizers that clear it (defect 3)", function()
  before_each(S.reset)
  after_each(S.verify)

  -- In the child: 300 traces (keep[i] made at 300 distinct lines); each
  -- round leaves handles of instances whose __del calls ACTION for Lua's
  -- collector to find while the snapshot and the tracebacks are pushed.
  local template = [==[
local gc = require "pygc"
local tm = require "pygc.tracemalloc"
local src = {}
for i = 1, 300 do src[#src + 1] = ("keep[%d] = gc.new_list()"):format(i) end
src = table.concat(src, "\n")
local keep, made, flip, n = {}, {}, false, 0
local C = gc.class("Hostile", { __del = function() ACTION end })
local rounds = math.max(2, math.floor(8 * (tonumber(os.getenv("PYGC_SPEC_SCALE")) or 1)))
for _ = 1, rounds do
  tm.start(5)
  load(src, "=many", "t", { keep = keep, gc = gc })()
  collectgarbage("incremental", 1, 1000)
  for _ = 1, 20 do local o = C {} end
  local raw = gc._trace_snapshot()
  assert(#raw.traces == #raw.sizes and #raw.sizes == #raw.counts)
  for i, frames in ipairs(raw.traces) do
    for _, f in ipairs(frames) do assert(type(f[1]) == "string" and math.type(f[2]) == "integer") end
    assert(raw.counts[i] >= 0 and raw.sizes[i] >= 0)
  end
  for i = 1, #keep do
    local frames = gc._trace_object(keep[i])
    if frames then assert(type(frames[1][1]) == "string") end
  end
  local snap = tm.is_tracing() and tm.take_snapshot()
  collectgarbage("incremental", 200, 100)
  if snap then
    for _, stat in ipairs(snap:statistics("lineno")) do assert(tostring(stat)) end
  end
  assert(gc._verify())
end
tm.stop()
for _, l in ipairs(made) do gc.release(l) end
collectgarbage(); collectgarbage(); gc.collect()
assert(gc._verify())
print("ok")
]==]

  local function hostile(action)
    local out, ok = run_child((template:gsub("ACTION", function() return action end)))
    assert(ok and out:find("ok"), out)
  end

  it("clear_traces() from __del while a snapshot or a traceback is pushed", function()
    hostile("tm.clear_traces()")
  end)

  it("stop() and start() from __del", function()
    hostile("flip = not flip; if flip then tm.stop() else tm.start(3) end")
  end)

  it("new traces made by __del while a snapshot is taken (the trace array moves)", function()
    hostile([[n = n + 1
      made[#made + 1] = load(("return gc.new_list() -- %d"):format(n), "=fresh" .. n, "t", { gc = gc })()]])
  end)
end)

describe("conversions that fail midway leak nothing (defect 6)", function()
  before_each(S.reset)
  after_each(S.verify)

  -- objects in the heap after Lua dropped every dead handle
  local function objects()
    collectgarbage(); collectgarbage()
    return gc.heap_info().objects
  end

  local function leak_free(name, fn)
    pcall(fn, 0) -- warm up (classes, interned names)
    local before = objects()
    for i = 1, S.n(200) do
      local ok = pcall(fn, i)
      assert(not ok, name .. " did not fail")
    end
    local after = objects()
    assert(after <= before, ("%s leaked %d objects"):format(name, after - before))
    S.verify()
  end

  local released = gc.new_list()
  gc.release(released)
  local Cls = gc.class("Leaky")

  it("get_referrers and get_referents with a released handle after converted strings", function()
    leak_free("get_referrers", function(i) return gc.get_referrers(("s" .. i):rep(30), released) end)
    leak_free("get_referrers (3)", function(i) return gc.get_referrers(("a" .. i):rep(30), ("b" .. i):rep(30), released) end)
    leak_free("get_referrers (a Lua table, then a released handle)", function(i)
      return gc.get_referrers(("s" .. i):rep(30), {}, released)
    end)
    leak_free("get_referents", function(i) return gc.get_referents(gc.new_list { ("s" .. i):rep(30) }, released) end)
  end)

  it("containers made from a table that fails midway", function()
    leak_free("new_list", function(i) return gc.new_list { ("s" .. i):rep(30), ("t" .. i):rep(30), released } end)
    leak_free("new_tuple", function(i) return gc.new_tuple { ("s" .. i):rep(30), released } end)
    leak_free("new_dict", function(i) return gc.new_dict { [("k" .. i):rep(30)] = ("v" .. i):rep(30), z = released } end)
    leak_free("new_dict (bad key)", function(i) return gc.new_dict { [("k" .. i):rep(30)] = 1, [released] = 1 } end)
    leak_free("instance", function(i) return Cls { a = ("s" .. i):rep(30), b = released } end)
    leak_free("instance (bad name)", function(i) return Cls { a = ("s" .. i):rep(30), [1] = 2 } end)
    leak_free("sequence error", function(i)
      return gc.new_list(setmetatable({}, { __len = function() return 3 end,
        __index = function(_, k) if k == 3 then error("boom") end; return ("s" .. i .. k):rep(30) end }))
    end)
  end)

  it("stores of a key and a value where one of them fails", function()
    local d = gc.new_dict()
    local o = Cls {}
    leak_free("dict value", function(i) d[("k" .. i):rep(30)] = released end)
    leak_free("dict key", function(i) d[released] = ("v" .. i):rep(30) end)
    leak_free("dict unhashable", function(i) d[gc.new_list { ("s" .. i):rep(30) }] = ("v" .. i):rep(30) end)
    leak_free("attribute", function(i) o[("n" .. i):rep(30)] = released end)
    leak_free("list item", function() local l = gc.new_list { 1 }; l[1] = released end)
    leak_free("class", function(i) return gc.class(("C" .. i):rep(30), { __del = 5 }) end)
    leak_free("lookup", function(i) return d[("k" .. i):rep(30)] .. released end)
    assert.are.equal(0, #d)
  end)
end)

describe("why_alive on deep chains (defect 10)", function()
  local util = require "pygc.util"
  before_each(S.reset)
  after_each(function()
    collectgarbage("restart")
    S.collect_all()
    S.verify()
  end)

  local function chain(depth)
    local root = gc.new_list()
    local cur = root
    for _ = 1, depth do
      local nx = gc.new_list()
      cur[1] = nx
      cur = nx
    end
    return root, cur
  end

  -- Lua memory allocated by one why_alive on a chain of the given depth
  -- (the collector stopped: every byte allocated is counted)
  local function cost(depth)
    local root, tip = chain(depth)
    collectgarbage(); collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    local path = util.why_alive(tip)
    local used = collectgarbage("count") - before
    collectgarbage("restart")
    local _, hops = path:gsub("%[1%]", "")
    assert.are.equal(depth, hops)
    assert.is_truthy(path:find("^local 'root'"))
    assert.is_true(root ~= nil)
    return used
  end

  it("allocates a bounded amount per level of depth", function()
    local c1, c3 = cost(1000), cost(3000)
    -- linear: well under 2 KB per level (tables growing by doubling add
    -- noise); a path string per node costs 6 * depth bytes per level, 12 KB
    -- and more at these depths
    local per_level = (c3 - c1) / 2000
    assert(per_level < 3, ("%.1f KB per level (%.0f KB, %.0f KB)"):format(per_level, c1, c3))
  end)

  it("reports a 200k-deep chain (scaled down under the sanitizers)", function()
    local depth = S.n(200000)
    local root, tip = chain(depth)
    local path = util.why_alive(tip)
    local _, hops = path:gsub("%[1%]", "")
    assert.are.equal(depth, hops)
    assert.is_truthy(path:find(" %-> <list>$"))
    assert.is_true(root ~= nil)
  end)
end)

describe("a container whose handle a finalizer releases during an operation on it", function()
  before_each(S.reset)
  after_each(S.verify)

  -- the old value's __del releases the handle of the container being
  -- stored into (its only reference): the store must not touch freed memory
  local function shape(make, store)
    local target
    local C = gc.class("Releaser", { __del = function() gc.release(target) end })
    target = make()
    local c = C {}
    store(target, c)
    gc.release(c)
    store(target, 1) -- drops c: __del releases target mid-store
    S.verify()
    assert.has_error(function() return #target end, "pygc: use of a released handle")
  end

  it("dict store, list store, attribute store", function()
    shape(gc.new_dict, function(t, v) t.k = v end)
    shape(gc.new_list, function(t, v) t[1] = v end)
    local T = gc.class("T")
    local target
    local C = gc.class("Releaser2", { __del = function() gc.release(target) end })
    target = T {}
    local c = C {}
    target.k = c
    gc.release(c)
    target.k = 1
    S.verify()
  end)

  it("deletions: dict, list pop, attribute", function()
    shape(gc.new_dict, function(t, v) if v == 1 then t.k = nil else t.k = v end end)
    shape(gc.new_list, function(t, v) if v == 1 then t[1] = nil else t[1] = v end end)
  end)

  it("a sequence whose __index releases every handle while gc.new_list or gc.new_tuple reads it", function()
    for _, make in ipairs { gc.new_list, gc.new_tuple } do
      local seq = setmetatable({}, {
        __len = function() return 3 end,
        __index = function(_, i)
          for _, o in ipairs(gc.get_objects()) do gc.release(o) end
          return ("item" .. i):rep(10)
        end,
      })
      local r = make(seq)
      assert.are.equal(3, #r)
      assert.are.equal(("item3"):rep(10), r[3])
      S.verify()
    end
  end)
end)

describe("calls that take several objects or make an instance", function()
  before_each(S.reset)
  after_each(S.verify)

  it("gc.release releases nothing when one argument is not a handle", function()
    local a, b = gc.new_list(), gc.new_list()
    errors_with(function() gc.release(a, b, "x") end, "bad argument #3 to 'release'")
    assert.are.equal(0, #a)
    assert.are.equal(0, #b)
    gc.release(a, b)
    assert.has_error(function() return #a end, "pygc: use of a released handle")
  end)

  it("instances made around finalizers that release their handles stay sound", function()
    local C = gc.class("Maker", { __init = function(self, x) self.x = x end })
    local D = gc.class("Releaser3", { __del = function()
      for _, o in ipairs(gc.get_objects()) do if gc.type(o) == "Maker" then gc.release(o) end end
    end })
    for i = 1, S.n(50) do
      gc.release(D {})
      local ok = pcall(function() return C(i).x end)
      assert.is_boolean(ok)
      S.verify()
    end
  end)

  it("a foreign value stored in the identity cache through debug.getregistry() is never taken for a handle", function()
    local C = gc.class("CacheTarget")
    local o = C()
    local l = gc.new_list { o }
    local id = gc.id(o)
    local cache
    for _, t in pairs(debug.getregistry()) do
      if type(t) == "table" and rawequal(rawget(t, id), o) then cache = t end
    end
    assert.is_table(cache, "the identity cache is keyed by gc.id")
    -- a full userdata smaller than a handle, and values of other types
    for _, foreign in ipairs { io.stdout, "x", 42, {}, function() end } do
      rawset(cache, id, foreign)
      local again = l[1]
      assert.equal("CacheTarget", gc.type(again))
      assert.is_false(rawequal(again, foreign))
      assert.equal(gc.id(o), gc.id(again))
      S.verify()
    end
    gc.release(o, l)
    collectgarbage(); gc.collect()
    S.verify()
  end)
end)

