-- The memory toolbox: pygc.util, pygc.tracemalloc, pygc.objgraph.
local S = require "spec.support"
local gc = S.gc
local util = require "pygc.util"
local tracemalloc = require "pygc.tracemalloc"
local objgraph = require "pygc.objgraph"

local function types_of(list)
  local t = {}
  for _, o in ipairs(list) do t[#t + 1] = gc.type(o) end
  return t
end

describe("pygc.util", function()
  before_each(S.reset)
  after_each(function() util.tune_gc(); S.verify() end)

  it("force_collect collects after Lua drops its handles and returns the count", function()
    local a = gc.new_list(); a[1] = a
    a = nil -- only a dead handle holds it
    assert.are.equal(1, util.force_collect())
    assert.are.equal(0, util.force_collect())
  end)

  it("gc_counts and gc_thresholds are keyed gen0, gen1, gen2", function()
    gc.collect()
    local keep = { gc.new_list(), gc.new_list() }
    local c = util.gc_counts()
    assert.are.same({ gen0 = 2, gen1 = 0, gen2 = 0 }, c)
    assert.are.same({ gen0 = 700, gen1 = 10, gen2 = 10 }, util.gc_thresholds())
    assert.is_not_nil(keep)
  end)

  it("tune_gc sets thresholds and restores the defaults when called bare", function()
    assert.are.same({ gen0 = 100, gen1 = 10, gen2 = 10 }, util.tune_gc(100))
    assert.are.same({ gen0 = 5, gen1 = 6, gen2 = 7 }, util.tune_gc(5, 6, 7))
    assert.are.same({ 5, 6, 7 }, { gc.get_threshold() })
    assert.are.same({ gen0 = 700, gen1 = 10, gen2 = 10 }, util.tune_gc())
  end)

  it("object_type_counts counts tracked objects by type, per generation", function()
    gc.collect()
    local Node = gc.class("CountedNode")
    local keep = { Node(), Node(), Node(), gc.new_list() }
    local all = util.object_type_counts()
    assert.are.equal(3, all.CountedNode)
    assert.are.equal(3, util.object_type_counts(0).CountedNode)
    assert.is_nil(util.object_type_counts(2).CountedNode)
    gc.collect(0)
    assert.are.equal(3, util.object_type_counts(1).CountedNode)
    assert.is_not_nil(keep)
  end)

  it("find_referrers lists exactly the containers holding an object", function()
    local target = gc.new_list()
    local a, d = gc.new_list{ target }, gc.new_dict{ k = target }
    local refs = types_of(util.find_referrers(target))
    table.sort(refs)
    assert.are.same({ "dict", "list" }, refs)
    assert.is_not_nil(a and d)
  end)

  it("ref_chain gives breadth-first lines with lengths", function()
    local target = gc.new_list()
    local mid = gc.new_list{ target, 1, 2 }
    local top = gc.new_dict{ m = mid }
    local lines = util.ref_chain(target, 3)
    assert.are.same({ "depth 1: <list len=3> -> <list len=0>", "depth 2: <dict len=1> -> <list len=3>" }, lines)
    assert.is_not_nil(top)
  end)

  it("has_cycle is true exactly for objects on a cycle, without collecting", function()
    local a, b, c = gc.new_list(), gc.new_list(), gc.new_list()
    a[1] = b; b[1] = a -- a and b form a cycle
    c[1] = a          -- c reaches it but is not on it
    local before = gc.get_stats()[3].collections
    assert.is_true(util.has_cycle(a))
    assert.is_true(util.has_cycle(b))
    assert.is_false(util.has_cycle(c))
    local self = gc.new_dict(); self.me = self
    assert.is_true(util.has_cycle(self))
    local Node = gc.class("N")
    local n = Node(); n.child = gc.new_list{ n }
    assert.is_true(util.has_cycle(n))
    assert.is_false(util.has_cycle(gc.new_list{ 1, 2 }))
    assert.are.equal(before, gc.get_stats()[3].collections)
  end)

  it("MemorySnapshot.take and report group by type or generation", function()
    gc.collect()
    local Big = gc.class("Big")
    local keep = {}
    for i = 1, 20 do keep[i] = Big{ a = i, b = i } end
    local snap = util.MemorySnapshot.take(3)
    assert.are.equal(20, snap.groups.Big.count)
    assert.are.equal(20 * gc.sizeof(keep[1]), snap.groups.Big.bytes)
    local lines = snap:report(1)
    assert.are.equal(1, #lines)
    assert.matches("^%w+: %d+ objects, %d+ bytes$", lines[1])
    local bygen = util.MemorySnapshot.take(10, "generation")
    assert.is_not_nil(bygen.groups["generation 0"])
    assert.has_error(function() util.MemorySnapshot.take(3, "nonsense") end)
  end)

  it("memory_diff reports what changed, biggest first", function()
    gc.collect()
    local before = util.MemorySnapshot.take()
    local Grow = gc.class("Grow")
    local keep = {}
    for i = 1, 10 do keep[i] = Grow() end
    local after = util.MemorySnapshot.take()
    local lines, diffs = util.memory_diff(before, after, 5)
    assert.are.equal("Grow", diffs[1].key)
    assert.are.equal(10, diffs[1].count)
    assert.are.equal(("Grow: +10 objects, +%d bytes"):format(10 * gc.sizeof(keep[1])), lines[1])
  end)

  it("GCStatsCollector counts collections, freed objects and pauses until uninstalled", function()
    local st = util.GCStatsCollector.install()
    for _ = 1, 3 do local l = gc.new_list(); l[1] = l; gc.release(l) end
    gc.collect(0)
    gc.collect(2)
    local r = st:report()
    assert.are.equal(1, r.collections.gen0)
    assert.are.equal(1, r.collections.gen2)
    assert.are.equal(3, r.collected)
    assert.is_true(r.longest_pause >= 0 and r.total_pause >= r.longest_pause)
    assert.matches("collections gen0=1 gen1=0 gen2=1, 3 objects freed", r.text)
    st:uninstall()
    gc.collect()
    assert.are.equal(2, st.collections[1] + st.collections[3])
    assert.are.equal(0, #gc.callbacks)
  end)

  it("freeze_before_fork collects, then freezes everything", function()
    local a = gc.new_list(); a[1] = a; a = nil
    local keep = gc.new_list()
    local n = util.freeze_before_fork()
    assert.is_true(n >= 1)
    assert.are.equal(n, gc.get_freeze_count())
    assert.are.equal(0, #gc.get_objects())
    assert.is_false(gc.isenabled())
    gc.unfreeze(); gc.enable()
    assert.is_not_nil(keep)
  end)

  it("why_alive gives the chain from a Lua global down to the object", function()
    local Session, Socket = gc.class("Session"), gc.class("Socket")
    _G.__why_cache = { users = gc.new_list{ 1, 2 } }
    local s = Session{ conn = Socket() }
    __why_cache.users[3] = s
    local sock = s.conn
    s = nil
    assert.are.equal("_G.__why_cache.users -> <list>[3] -> <Session>.conn -> <Socket>", util.why_alive(sock))
    _G.__why_cache = nil
  end)

  it("why_alive finds locals, upvalues and coroutines, and nil when Lua holds nothing", function()
    local Thing = gc.class("Thing")
    local held = Thing()
    local function closure() return held end
    _G.__why_fn = closure
    local via = util.why_alive(held, 5)
    local text = table.concat(via, "\n")
    assert.matches("<upvalue held>", text)
    _G.__why_fn = nil
    local co = coroutine.create(function(x) coroutine.yield(x) end)
    local orphan = Thing()
    coroutine.resume(co, gc.new_list{ orphan })
    _G.__why_co = co
    assert.matches("coroutine local 'x'", util.why_alive(orphan))
    _G.__why_co = nil
    co = nil
    local cyc = gc.new_list(); cyc[1] = cyc
    local inner = gc.new_list{ 5 }
    cyc[2] = inner
    gc.release(cyc)
    assert.is_nil(util.why_alive(inner)) -- only garbage holds it
    assert.is_not_nil(closure)
  end)
end)

describe("pygc.tracemalloc", function()
  before_each(S.reset)
  after_each(function() tracemalloc.stop(); S.verify() end)

  it("start, stop, is_tracing and the traceback limit", function()
    assert.is_false(tracemalloc.is_tracing())
    tracemalloc.start(3)
    assert.is_true(tracemalloc.is_tracing())
    assert.are.equal(3, tracemalloc.get_traceback_limit())
    tracemalloc.stop()
    assert.is_false(tracemalloc.is_tracing())
    assert.has_error(function() tracemalloc.start(0) end)
    assert.has_error(function() tracemalloc.take_snapshot() end)
  end)

  it("statistics by line, file and traceback point at the allocating lines", function()
    tracemalloc.start(2)
    local keep = {}
    local function make(n) for i = 1, n do keep[#keep + 1] = gc.new_list{ i } end end -- line A
    make(50)
    local snap = tracemalloc.take_snapshot()
    local top = snap:statistics("lineno")[1]
    assert.matches("toolkit_spec%.lua:%d+$", tostring(top.traceback))
    assert.are.equal(50, top.count)
    assert.are.equal(50 * gc.sizeof(keep[1]), top.size)
    local byfile = snap:statistics("filename")[1]
    assert.matches("toolkit_spec%.lua", byfile.traceback[1].filename)
    assert.is_true(byfile.count >= 50)
    local bytb = snap:statistics("traceback")[1]
    assert.are.equal(2, #bytb.traceback) -- two frames kept: make() and its caller
    assert.matches("size=%d+ B, count=50, average=%d+ B", tostring(top))
  end)

  it("compare_to reports growth between snapshots", function()
    local warm = gc.new_dict{ k = 0 } -- the key "k" exists before: only dicts are new below
    tracemalloc.start()
    local keep = {}
    local s1 = tracemalloc.take_snapshot()
    for i = 1, 30 do keep[i] = gc.new_dict{ k = i } end
    local s2 = tracemalloc.take_snapshot()
    local d = s2:compare_to(s1, "lineno")[1]
    assert.are.equal(30, d.count_diff)
    assert.are.equal(d.size, d.size_diff)
    assert.is_true(d.size > 0)
    for i = 1, 30 do keep[i] = nil end
    collectgarbage(); collectgarbage()
    local s3 = tracemalloc.take_snapshot()
    local back = s3:compare_to(s2, "lineno")[1]
    assert.are.equal(-30, back.count_diff)
    assert.is_not_nil(warm)
  end)

  it("current and peak traced memory", function()
    tracemalloc.start()
    local cur0 = tracemalloc.get_traced_memory()
    local keep = {}
    for i = 1, 100 do keep[i] = gc.new_list() end
    local cur1, peak1 = tracemalloc.get_traced_memory()
    assert.is_true(cur1 >= cur0 + 100 * gc.sizeof(keep[1]))
    keep = nil
    collectgarbage(); collectgarbage()
    local cur2, peak2 = tracemalloc.get_traced_memory()
    assert.is_true(cur2 < cur1)
    assert.are.equal(peak1, peak2)
    tracemalloc.clear_traces()
    assert.are.equal(0, (tracemalloc.get_traced_memory()))
  end)

  it("filters by file pattern, and gives an object's traceback", function()
    tracemalloc.start()
    local here = gc.new_list()
    local snap = tracemalloc.take_snapshot()
    assert.are.equal(0, #snap:filter_traces{ tracemalloc.Filter(false, "*toolkit_spec.lua") }.traces)
    assert.is_true(#snap:filter_traces{ tracemalloc.Filter(true, "*toolkit_spec.lua") }.traces >= 1)
    assert.are.equal(0, #snap:filter_traces{ tracemalloc.Filter(true, "*nothing*") }.traces)
    local tb = tracemalloc.get_object_traceback(here)
    assert.matches("toolkit_spec%.lua", tb[1].filename)
    assert.is_nil(tracemalloc.get_object_traceback(gc.garbage)) -- made before tracing
  end)
end)

describe("pygc.objgraph", function()
  before_each(S.reset)
  after_each(S.verify)

  it("most_common_types, count and by_type", function()
    local Widget = gc.class("Widget")
    local keep = {}
    for i = 1, 25 do keep[i] = Widget() end
    local top = objgraph.most_common_types(1)
    assert.are.same({ { "Widget", 25 } }, top)
    assert.are.equal(25, objgraph.count("Widget"))
    assert.are.equal(25, #objgraph.by_type("Widget"))
  end)

  it("show_growth reports the types that grew since the last call", function()
    objgraph.show_growth(nil, false)
    local Sprout = gc.class("Sprout")
    local keep = { Sprout(), Sprout(), Sprout() }
    local g = objgraph.show_growth(5, false)
    assert.are.same({ "Sprout", 3, 3 }, g[1])
    assert.are.same({}, objgraph.show_growth(5, false))
    assert.is_not_nil(keep)
  end)

  it("get_leaking_objects finds the objects no tracked object refers to", function()
    local root = gc.new_list()
    local child = gc.new_list()
    root[1] = child
    local found_root, found_child = false, false
    for _, o in ipairs(objgraph.get_leaking_objects()) do
      if rawequal(o, root) then found_root = true end
      if rawequal(o, child) then found_child = true end
    end
    assert.is_true(found_root)
    assert.is_false(found_child)
  end)

  it("find_backref_chain gives the shortest chain from a root", function()
    local Node = gc.class("Node")
    local leaf = Node()
    local mid = gc.new_list{ leaf }
    local root = gc.new_dict{ m = mid }
    mid = nil; leaf = nil
    collectgarbage(); collectgarbage()
    local target = root.m[1]
    local chain = objgraph.find_backref_chain(target)
    assert.are.same({ "dict", "list", "Node" }, types_of(chain))
    assert.is_true(rawequal(chain[1], root))
    local custom = objgraph.find_backref_chain(target, function(o) return gc.type(o) == "list" end)
    assert.are.same({ "list", "Node" }, types_of(custom))
  end)

  it("show_refs and show_backrefs write DOT with cycles highlighted", function()
    local a, b = gc.new_list(), gc.new_list()
    a[1] = b; b[1] = a
    local holder = gc.new_dict{ x = a }
    local path = os.tmpname()
    local dot, info = objgraph.show_refs(holder, { max_depth = 5, filename = path })
    assert.are.equal(3, info.nodes)
    assert.are.equal(3, info.edges)
    assert.matches("^digraph ObjectGraph {", dot)
    local red = select(2, dot:gsub("color=red", ""))
    assert.are.equal(4, red) -- two nodes and two edges on the cycle
    local f = io.open(path); local text = f:read("a"); f:close(); os.remove(path)
    assert.are.equal(dot, text)
    local back = objgraph.show_backrefs(a, { max_depth = 2 })
    assert.matches("dict", back)
    if os.execute("command -v dot >/dev/null 2>&1") then
      local p = io.popen("dot -Tsvg >/dev/null 2>&1", "w")
      assert.is_true(p:write(dot) ~= nil)
      assert.is_true(p:close())
    end
  end)
end)
