-- API.md section 4: the gc functions, with Python's names and meanings.
local S = require "spec.support"
local gc = S.gc

local function cycle()
  local l = gc.new_list()
  l[1] = l
  gc.release(l)
end

describe("gc functions", function()
  before_each(S.reset)
  after_each(S.verify)

  it("enable, disable, isenabled", function()
    assert.is_true(gc.isenabled())
    gc.disable()
    assert.is_false(gc.isenabled())
    gc.set_threshold(5)
    local before = gc.get_stats()[1].collections
    local keep = {}
    for i = 1, 50 do keep[i] = gc.new_list() end
    assert.are.equal(before, gc.get_stats()[1].collections)
    gc.enable()
    assert.is_true(gc.isenabled())
    for i = 51, 100 do keep[i] = gc.new_list() end
    assert.is_true(gc.get_stats()[1].collections > before)
  end)

  it("collect returns collected + uncollectable, default generation 2", function()
    gc.disable()
    for _ = 1, 10 do cycle() end
    local before = gc.get_stats()
    assert.are.equal(10, gc.collect())
    local after = gc.get_stats()
    assert.are.equal(before[3].collections + 1, after[3].collections)
    assert.are.equal(before[3].collected + 10, after[3].collected)
    assert.are.equal(0, gc.collect())
  end)

  it("collect(0) collects only the youngest generation", function()
    gc.disable()
    cycle()
    gc.collect(2) -- empties everything
    cycle()
    local l = gc.new_list(); l[1] = l
    gc.collect(0) -- l survives into generation 1
    gc.release(l)
    assert.are.equal(0, gc.collect(0))
    assert.are.equal(1, gc.collect(1))
  end)

  it("collect checks its argument", function()
    assert.has_error(function() gc.collect(3) end, "bad argument #1 to 'collect' (invalid generation)")
    assert.has_error(function() gc.collect(-1) end, "bad argument #1 to 'collect' (invalid generation)")
    assert.has_error(function() gc.collect("x") end, "bad argument #1 to 'collect' (number expected, got string)")
    assert.has_error(function() gc.collect(1.5) end, "bad argument #1 to 'collect' (number has no integer representation)")
    assert.are.equal(0, gc.collect("1"))
  end)

  it("collect returns 0 when a collection is already running", function()
    local inner
    gc.callbacks[1] = function(phase) if phase == "start" then inner = gc.collect() end end
    cycle()
    collectgarbage()
    assert.are.equal(1, gc.collect())
    assert.are.equal(0, inner)
  end)

  it("set_debug and get_debug, with CPython's constants", function()
    assert.are.equal(1, gc.DEBUG_STATS)
    assert.are.equal(2, gc.DEBUG_COLLECTABLE)
    assert.are.equal(4, gc.DEBUG_UNCOLLECTABLE)
    assert.are.equal(32, gc.DEBUG_SAVEALL)
    assert.are.equal(38, gc.DEBUG_LEAK)
    gc.set_debug(gc.DEBUG_SAVEALL)
    assert.are.equal(32, gc.get_debug())
    gc.set_debug(0)
    assert.has_error(function() gc.set_debug("x") end, "bad argument #1 to 'set_debug' (number expected, got string)")
    assert.has_error(function() gc.set_debug(-1) end)
  end)

  it("print DEBUG_STATS and DEBUG_COLLECTABLE lines in CPython's format", function()
    local out = S.run_lua([[
      local gc = require "pygc"
      gc.set_debug(gc.DEBUG_STATS | gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
      local l = gc.new_list(); l[1] = l; gc.release(l)
      local L = gc.class("Leg", { legacy = true })
      local a = L(); a.me = a; gc.release(a)
      gc.collect(0)
      gc.set_debug(0)
    ]])
    assert.matches("gc: collecting generation 0%.%.%.\n", out)
    assert.matches("gc: objects in each generation: %d+ %d+ %d+\n", out)
    assert.matches("gc: objects in permanent generation: 0\n", out)
    assert.matches("gc: collectable <list 0x%x+>\n", out)
    assert.matches("gc: uncollectable <Leg 0x%x+>\n", out)
    assert.matches("gc: done, 2 unreachable, 1 uncollectable, %d+%.%d%d%d%ds elapsed\n", out)
  end)

  it("DEBUG_SAVEALL keeps every unreachable object in gc.garbage", function()
    gc.set_debug(gc.DEBUG_SAVEALL)
    cycle()
    assert.are.equal(1, gc.collect())
    gc.set_debug(0)
    assert.are.equal(1, #gc.garbage)
    assert.are.equal("list", gc.type(gc.garbage[1]))
    gc.garbage[1] = nil
    assert.are.equal(1, S.collect_all())
  end)

  it("get_objects lists tracked objects, by generation", function()
    gc.collect()
    local l = gc.new_list()
    local objs = gc.get_objects(0)
    local found = false
    for _, o in ipairs(objs) do if rawequal(o, l) then found = true end end
    assert.is_true(found)
    objs = nil
    gc.collect(0)
    found = false
    for _, o in ipairs(gc.get_objects(1)) do if rawequal(o, l) then found = true end end
    assert.is_true(found)
    assert.is_true(#gc.get_objects() >= 1)
    assert.has_error(function() gc.get_objects(3) end, "bad argument #1 to 'get_objects' (invalid generation)")
  end)

  it("get_stats gives three tables with CPython's fields", function()
    local st = gc.get_stats()
    assert.are.equal(3, #st)
    for g = 1, 3 do
      assert.is_true(math.type(st[g].collections) == "integer")
      assert.is_true(math.type(st[g].collected) == "integer")
      assert.is_true(math.type(st[g].uncollectable) == "integer")
    end
    gc.collect(1)
    assert.are.equal(st[2].collections + 1, gc.get_stats()[2].collections)
  end)

  it("thresholds default to 700, 10, 10 and can be set", function()
    assert.are.same({ 700, 10, 10 }, { gc.get_threshold() })
    gc.set_threshold(100)
    assert.are.same({ 100, 10, 10 }, { gc.get_threshold() })
    gc.set_threshold(5, 6, 7)
    assert.are.same({ 5, 6, 7 }, { gc.get_threshold() })
    assert.has_error(function() gc.set_threshold(-1) end)
    assert.has_error(function() gc.set_threshold(2 ^ 40 // 1) end)
    assert.has_error(function() gc.set_threshold("a") end)
    assert.has_error(function() gc.set_threshold() end)
  end)

  it("threshold0 = 0 disables automatic collection", function()
    gc.set_threshold(0)
    local before = gc.get_stats()[1].collections
    local keep = {}
    for i = 1, 2000 do keep[i] = gc.new_list() end
    assert.are.equal(before, gc.get_stats()[1].collections)
  end)

  it("collects automatically by CPython's generational rules", function()
    gc.collect()
    gc.set_threshold(10, 3, 2)
    local keep = {}
    local st0 = gc.get_stats()
    for i = 1, 11 do keep[i] = gc.new_list() end
    local st1 = gc.get_stats()
    assert.are.equal(st0[1].collections + 1, st1[1].collections) -- count 11 > 10
    assert.are.same({ 0, 1, 0 }, { gc.get_count() })
    for i = 12, 44 do keep[i] = gc.new_list() end -- three more gen-0 collections
    assert.are.equal(st0[2].collections, gc.get_stats()[2].collections)
    assert.are.same({ 0, 4, 0 }, { gc.get_count() })
    for i = 45, 55 do keep[i] = gc.new_list() end -- gen1 count 4 > 3: generation 1 now
    local st2 = gc.get_stats()
    assert.are.equal(st0[2].collections + 1, st2[2].collections)
    assert.are.equal(st1[1].collections + 3, st2[1].collections)
    assert.are.same({ 0, 0, 1 }, { gc.get_count() })
  end)

  it("get_count counts allocations minus deallocations since the last collection", function()
    gc.collect()
    assert.are.same({ 0, 0, 0 }, { gc.get_count() })
    local a, b = gc.new_list(), gc.new_dict()
    assert.are.equal(2, (gc.get_count()))
    gc.release(a)
    assert.are.equal(1, (gc.get_count()))
    gc.release(b)
    gc.release(gc.new_list())
    assert.are.equal(0, (gc.get_count()))
    gc.collect(0)
    local _, c1 = gc.get_count()
    assert.are.equal(1, c1)
  end)

  it("get_referrers finds the tracked objects that refer to any argument", function()
    local target = gc.new_list()
    local a = gc.new_list{target} -- luacheck: ignore (holds a reference)
    local d = gc.new_dict{x = target} -- luacheck: ignore (holds a reference)
    local C = gc.class("C")
    local o = C{ t = target } -- luacheck: ignore (holds a reference)
    local other = gc.new_list{5} -- luacheck: ignore (holds a reference)
    local refs = gc.get_referrers(target)
    assert.are.equal(3, #refs)
    local kinds = {}
    for _, r in ipairs(refs) do kinds[gc.type(r)] = true end
    assert.are.same({ list = true, dict = true, C = true }, kinds)
    assert.are.equal(1, #gc.get_referrers(5))
    assert.are.equal(4, #gc.get_referrers(target, 5))
    assert.are.equal(0, #gc.get_referrers())
  end)

  it("get_referents lists the values the arguments refer to", function()
    local inner = gc.new_list()
    local l = gc.new_list{1, "a", inner}
    local r = gc.get_referents(l)
    assert.are.equal(3, #r)
    assert.are.equal(1, r[1])
    assert.are.equal("a", r[2])
    assert.is_true(rawequal(inner, r[3]))
    local d = gc.new_dict{k = 2}
    r = gc.get_referents(d)
    assert.are.same({ "k", 2 }, r)
    local C = gc.class("C")
    local o = C{ v = inner }
    r = gc.get_referents(o) -- its class, then its attribute values (CPython lists the type too)
    assert.are.equal(2, #r)
    assert.is_true(rawequal(C, r[1]))
    assert.is_true(rawequal(inner, r[2]))
    assert.are.equal(5, #gc.get_referents(l, d, 7))
  end)

  it("is_tracked follows CPython's rules", function()
    assert.is_false(gc.is_tracked(1))
    assert.is_false(gc.is_tracked("a"))
    assert.is_false(gc.is_tracked(gc.None))
    assert.is_true(gc.is_tracked(gc.new_list()))
    local C = gc.class("C")
    assert.is_true(gc.is_tracked(C()))
    local d = gc.new_dict()
    assert.is_false(gc.is_tracked(d))
    d.a = 1
    assert.is_true(gc.is_tracked(d))
    local t = gc.new_tuple{1, 2}
    assert.is_true(gc.is_tracked(t))
    gc.collect()
    assert.is_false(gc.is_tracked(t))
    local t2 = gc.new_tuple{gc.new_list()}
    gc.collect()
    assert.is_true(gc.is_tracked(t2))
    assert.is_false(gc.is_tracked(gc.new_tuple()))
  end)

  it("is_finalized is true once the collector ran the finalizer", function()
    local C = gc.class("C", { __del = function() end })
    local o = C()
    assert.is_false(gc.is_finalized(o))
    assert.is_false(gc.is_finalized(3))
  end)

  it("freeze, unfreeze and get_freeze_count", function()
    gc.collect()
    local l = gc.new_list(); l[1] = l
    gc.freeze()
    assert.are.equal(0, (gc.get_count()))
    assert.is_true(gc.get_freeze_count() >= 1)
    local id = gc.id(l)
    gc.release(l)
    collectgarbage()
    assert.are.equal(0, gc.collect()) -- frozen objects are ignored
    local found = false
    for _, o in ipairs(gc.get_objects()) do if gc.id(o) == id then found = true end end
    assert.is_false(found) -- get_objects leaves the permanent generation out
    gc.unfreeze()
    assert.are.equal(0, gc.get_freeze_count())
    assert.are.equal(1, gc.collect())
  end)

  it("gc.garbage is a pygc list", function()
    assert.are.equal("list", gc.type(gc.garbage))
  end)
end)

describe("gc.callbacks", function()
  before_each(S.reset)
  after_each(S.verify)

  it("are called with phase and info at start and stop", function()
    local log = {}
    gc.callbacks[1] = function(phase, info)
      log[#log + 1] = { phase = phase, gen = info.generation, collected = info.collected,
        uncollectable = info.uncollectable, duration = info.duration, candidates = info.candidates }
    end
    cycle()
    gc.collect(2)
    assert.are.equal(2, #log)
    assert.are.equal("start", log[1].phase)
    assert.are.equal("stop", log[2].phase)
    assert.are.equal(2, log[2].gen)
    assert.are.equal(1, log[2].collected)
    assert.are.equal(0, log[2].uncollectable)
    assert.is_true(log[2].duration >= 0)
    assert.is_true(log[2].candidates >= 1)
  end)

  it("each phase calls the entries as the sequence stood when it began", function()
    local calls = {}
    local function second(phase) calls[#calls + 1] = "second:" .. phase end
    local function first(phase)
      calls[#calls + 1] = "first:" .. phase
      if phase == "start" then
        table.remove(gc.callbacks, 1)
        gc.callbacks[#gc.callbacks + 1] = second
      end
    end
    gc.callbacks[1] = first
    gc.collect()
    assert.are.same({ "first:start", "second:stop" }, calls)
  end)

  it("errors and non-callable entries are reported, never raised", function()
    local reports = S.capture_unraisable(function()
      gc.callbacks[1] = function() error("cb failed") end
      gc.callbacks[2] = 42
      assert.are.equal(0, gc.collect())
    end)
    assert.are.equal(4, #reports)
    assert.matches("cb failed", reports[1].err)
    assert.are.equal("gc callback", reports[1].what)
    assert.matches("not callable", reports[2].err)
  end)

  it("may create cycles and allocate during the callback", function()
    gc.callbacks[1] = function() local l = gc.new_list(); l[1] = l end
    assert.has_no.errors(function() gc.collect() end)
    gc.callbacks = {}
    assert.is_true(S.collect_all() >= 1)
  end)
end)
