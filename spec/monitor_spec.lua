-- pygc.monitor: the recorder (events against get_stats, the ring's bound,
-- other callbacks untouched), summary()'s shape, report()'s sections and
-- escaping, and argument errors.
local S = require "spec.support"
local gc = S.gc
local monitor = require "pygc.monitor"
local tracemalloc = require "pygc.tracemalloc"

local function stats()
  local st = gc.get_stats()
  local out = {}
  for g = 1, 3 do out[g] = { collections = st[g].collections, collected = st[g].collected, uncollectable = st[g].uncollectable } end
  return out
end

-- n garbage 2-cycles through Lua handles (automatic collections run)
local function churn(n)
  for _ = 1, n do
    local a <close> = gc.new_list()
    local b <close> = gc.new_list{ a }
    a[1] = b
  end
end

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function errmsg(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok)
  return tostring(e)
end

describe("pygc.monitor", function()
  before_each(S.reset)
  after_each(function()
    monitor.stop()
    if tracemalloc.is_tracing() then tracemalloc.stop() end
    _G.monitor_spec_cache = nil
    S.reset()
  end)

  it("records one event per collection, matching get_stats deltas", function()
    local before = stats()
    monitor.start()
    churn(S.n(5000))
    gc.collect(0); gc.collect(1); gc.collect(2)
    local Legacy = gc.class("Legacy", { legacy = true, __del = function() end })
    do local x = Legacy(); x.self = x end
    S.collect_all()
    monitor.stop()
    local after = stats()
    local s = monitor.summary{ collect = false }
    local per = { 0, 0, 0 }
    local coll, unc = { 0, 0, 0 }, { 0, 0, 0 }
    for _, e in ipairs(s.events) do
      per[e.generation + 1] = per[e.generation + 1] + 1
      coll[e.generation + 1] = coll[e.generation + 1] + e.collected
      unc[e.generation + 1] = unc[e.generation + 1] + e.uncollectable
    end
    for g = 1, 3 do
      local d = after[g].collections - before[g].collections
      assert.are.equal(d, per[g], "collections of generation " .. (g - 1))
      assert.are.equal(d, s.totals[g].collections)
      assert.are.equal(after[g].collected - before[g].collected, coll[g])
      assert.are.equal(after[g].collected - before[g].collected, s.totals[g].collected)
      assert.are.equal(after[g].uncollectable - before[g].uncollectable, unc[g])
    end
    assert.is_true(s.recorded > 3)
    assert.is_true(unc[3] >= 1, "the legacy cycle counts as uncollectable")
    S.verify()
  end)

  it("stores the heap's objects and bytes after each collection, and its duration", function()
    local seen = {}
    monitor.start{ read_budget = 1 }
    gc.callbacks[#gc.callbacks + 1] = function(phase, info)
      if phase == "stop" then
        local h = gc.heap_info()
        seen[#seen + 1] = { h.objects, h.bytes, info.duration, info.generation }
      end
    end
    churn(S.n(3000))
    gc.collect(1)
    monitor.stop()
    local s = monitor.summary{ collect = false }
    assert.are.equal(#seen, #s.events)
    local last_time = -1
    for i, e in ipairs(s.events) do
      assert.are.same({ seen[i][1], seen[i][2], seen[i][3], seen[i][4] }, { e.objects, e.bytes, e.duration, e.generation })
      assert.is_true(e.time >= last_time)
      last_time = e.time
      assert.are.equal(i, e.seq)
      assert.are.equal(gc.get_mode(), e.mode)
      if e.mode == "generational" then assert.are.equal("gen" .. e.generation, e.kind) end
    end
    S.verify()
  end)

  it("paces its heap reads to read_budget of the run; events between carry no objects or bytes", function()
    -- a clock that advances 1 per call: a read costs 1 tick, so with a budget
    -- of 0.1 the next read waits 9 more (each event calls the clock once):
    -- one read per 9 events, 1 tick of reading in 10
    local ticks = 0
    monitor.start{ read_budget = 0.1, clock = function() ticks = ticks + 1; return ticks end }
    for _ = 1, 100 do gc.collect(0) end
    local s = monitor.summary{ collect = false }
    assert.are.equal(100, #s.events)
    local read_seqs = {}
    for _, e in ipairs(s.events) do
      assert.are.equal(e.objects == nil, e.bytes == nil)
      if e.bytes then read_seqs[#read_seqs + 1] = e.seq end
    end
    assert.are.equal(#read_seqs, s.reads)
    assert.are.equal(1, read_seqs[1])
    for k = 2, #read_seqs do assert.are.equal(9, read_seqs[k] - read_seqs[k - 1]) end
    -- full collections are always read
    ticks = ticks + 1000
    gc.collect(0); gc.collect(2); gc.collect(2); gc.collect(0)
    local ev = monitor.summary{ collect = false }.events
    assert.is_number(ev[#ev - 3].bytes)
    assert.is_number(ev[#ev - 2].bytes)
    assert.is_number(ev[#ev - 1].bytes)
    assert.is_nil(ev[#ev].bytes)
    monitor.stop()
    monitor.start{ read_budget = 1, clock = function() ticks = ticks + 1; return ticks end }
    for _ = 1, 10 do gc.collect(0) end
    assert.are.equal(10, monitor.summary{ collect = false }.reads)
    S.verify()
  end)

  it("keeps only the last `capacity` events; the totals count all of them", function()
    monitor.start{ capacity = 5 }
    for _ = 1, 23 do gc.collect(0) end
    assert.are.equal(5, monitor._ring_slots())
    for _ = 1, 40 do gc.collect(0) end
    assert.are.equal(5, monitor._ring_slots())
    local s = monitor.summary{ collect = false }
    assert.are.equal(63, s.recorded)
    assert.are.equal(5, #s.events)
    assert.are.equal(58, s.dropped)
    assert.are.same({ 59, 60, 61, 62, 63 }, { s.events[1].seq, s.events[2].seq, s.events[3].seq, s.events[4].seq, s.events[5].seq })
    assert.are.equal(63, s.totals[1].collections)
    S.verify()
  end)

  it("samples the object counts per type every `sample` collections, in a bounded ring", function()
    monitor.start{ sample = 2, sample_capacity = 3 }
    local keep = {}
    for i = 1, 10 do
      keep[i] = gc.new_dict{ i = i }
      gc.collect(0)
    end
    local s = monitor.summary{ collect = false }
    -- the start, the last 3 of 5 periodic samples, and now
    assert.are.equal(5, #s.samples)
    assert.are.equal("start", s.samples[1].label)
    assert.are.equal("now", s.samples[5].label)
    assert.are.same({ 6, 8, 10 }, { s.samples[2].seq, s.samples[3].seq, s.samples[4].seq })
    assert.is_true(s.samples[4].counts.dict > s.samples[2].counts.dict)
    assert.are.equal(#s.samples, #s.growth[1].series)
    assert.is_not_nil(keep)
    S.verify()
  end)

  it("leaves the callbacks users installed running, and stop() removes only its own", function()
    local calls = { first = 0, last = 0 }
    local first = function(phase) if phase == "stop" then calls.first = calls.first + 1 end end
    local last = function(phase) if phase == "stop" then calls.last = calls.last + 1 end end
    gc.callbacks[1] = first
    monitor.start()
    gc.callbacks[#gc.callbacks + 1] = last
    assert.are.equal(3, #gc.callbacks)
    gc.collect(); gc.collect(0)
    assert.are.same({ first = 2, last = 2 }, calls)
    assert.is_true(monitor.stop())
    assert.are.equal(2, #gc.callbacks)
    assert.are.equal(first, gc.callbacks[1])
    assert.are.equal(last, gc.callbacks[2])
    gc.collect()
    assert.are.same({ first = 3, last = 3 }, calls)
    assert.are.equal(2, monitor.summary{ collect = false }.recorded)
    S.verify()
  end)

  it("refuses a second start while running; stop() when stopped is a no-op", function()
    assert.is_false(monitor.stop())
    monitor.start()
    assert.is_true(monitor.is_running())
    assert.matches("already running", errmsg(monitor.start))
    assert.are.equal(1, #gc.callbacks)
    assert.is_true(monitor.stop())
    assert.is_false(monitor.is_running())
    assert.is_false(monitor.stop())
    monitor.start() -- a new recording
    gc.collect()
    assert.are.equal(1, monitor.summary{ collect = false }.recorded)
    -- a program that replaced gc.callbacks: stop() still works
    gc.callbacks = {}
    assert.is_true(monitor.stop())
    S.verify()
  end)

  it("labels incremental collections as young, increment and full", function()
    gc.set_mode("incremental")
    monitor.start()
    gc.collect(1); gc.collect(2)
    churn(S.n(3000))
    monitor.stop()
    local s = monitor.summary{ collect = false }
    local kinds = {}
    for _, e in ipairs(s.events) do
      assert.are.equal("incremental", e.mode)
      kinds[e.kind] = true
      assert.are.equal(({ [0] = "young", "increment", "full" })[e.generation], e.kind)
    end
    assert.is_true(kinds.increment and kinds.full)
    assert.are.equal("incremental", s.settings.mode)
    S.verify()
  end)

  it("summary(): growth, a why_alive chain per top type, pauses and settings", function()
    local Session = gc.class("Session")
    monitor.start()
    _G.monitor_spec_cache = { sessions = gc.new_list() }
    for i = 1, 40 do
      local s <close> = Session{ n = i }
      if i % 4 == 0 then _G.monitor_spec_cache.sessions[#_G.monitor_spec_cache.sessions + 1] = s end
      churn(100)
    end
    local s = monitor.summary{ top = 3, chains = 2, longest = 4 }
    assert.are.equal("Session", s.growth[1].type)
    assert.are.equal(10, s.growth[1].delta)
    assert.are.equal(s.growth[1].after - s.growth[1].before, s.growth[1].delta)
    assert.is_true(s.growth[1].bytes_delta > 0)
    assert.is_true(#s.growth <= 3)
    assert.are.equal(2, #s.chains)
    assert.are.equal("Session", s.chains[1].type)
    assert.matches("^_G%.monitor_spec_cache%.sessions %-> <list>%[%d+%] %-> <Session>$", s.chains[1].chain)
    assert.matches("^<Session object at", s.chains[1].repr)
    assert.are.equal(4, #s.pauses.longest)
    for i = 2, 4 do assert.is_true(s.pauses.longest[i - 1].duration >= s.pauses.longest[i].duration) end
    local binned = 0
    for _, b in ipairs(s.pauses.histogram) do
      assert.is_true(b.hi > b.lo)
      for g = 1, 3 do binned = binned + b.counts[g] end
    end
    assert.are.equal(#s.events, binned)
    assert.are.same({ 700, 10, 10 }, s.settings.thresholds)
    assert.is_true(s.settings.enabled)
    assert.are.equal(0, s.settings.debug)
    assert.are.equal("number", type(s.heap.start.bytes))
    assert.are.equal("number", type(s.heap.now.bytes))
    assert.is_false(s.tracemalloc.tracing)
    S.verify()
  end)

  it("bounds why_alive by a time budget", function()
    local Node = gc.class("Node")
    monitor.start()
    -- a large Lua graph in front of the object makes the search long
    local big = {}
    for i = 1, math.max(5000, S.n(200000)) do big[i] = { i } end
    _G.monitor_spec_cache = { big = big, tail = gc.new_list{ Node(), Node(), Node() } }
    big = nil -- luacheck: ignore
    local s = monitor.summary{ budget = 0, chains = 1 }
    assert.are.equal("Node", s.chains[1].type)
    assert.is_nil(s.chains[1].chain)
    assert.matches("budget", s.chains[1].note)
    S.verify()
  end)

  it("reports tracemalloc's top lines when tracing", function()
    tracemalloc.start(1)
    monitor.start()
    _G.monitor_spec_cache = {}
    for i = 1, 20 do _G.monitor_spec_cache[i] = gc.new_dict{ x = i } end
    local s = monitor.summary()
    assert.is_true(s.tracemalloc.tracing)
    assert.is_true(#s.tracemalloc.top >= 1)
    assert.matches("monitor_spec%.lua:%d+", s.tracemalloc.top[1].where)
    assert.is_true(s.tracemalloc.top[1].count >= 20)
    assert.matches("monitor_spec%.lua:%d+", s.chains[1].traceback)
    S.verify()
  end)

  it("writes one self-contained HTML file with every section", function()
    local path = os.tmpname()
    local Weird = gc.class('<b>Weird & "odd"</b>')
    tracemalloc.start(1)
    monitor.start{ sample = 3 }
    _G.monitor_spec_cache = gc.new_list()
    for _ = 1, 30 do
      _G.monitor_spec_cache[#_G.monitor_spec_cache + 1] = Weird{ note = "</code><script>x</script>" }
      churn(30)
    end
    local p, s = monitor.report(path, { title = "spec <report>" })
    assert.are.equal(path, p)
    assert.are.equal('<b>Weird & "odd"</b>', s.growth[1].type)
    local html = read(path)
    os.remove(path)
    for _, id in ipairs({ "overview", "timeline", "growth", "chains", "pauses", "longest", "tracemalloc", "settings" }) do
      assert.matches('id="' .. id .. '"', html, 1, true)
    end
    assert.matches("<svg", html, 1, true)
    assert.matches("&lt;b&gt;Weird &amp; &quot;odd&quot;&lt;/b&gt;", html, 1, true)
    assert.is_nil(html:find('<b>Weird', 1, true))
    assert.matches("spec &lt;report&gt;", html, 1, true)
    -- nothing to fetch: no script, no external reference of any kind
    assert.is_nil(html:find("<script", 1, true))
    assert.is_nil(html:find("https?://"))
    assert.is_nil(html:find("src=", 1, true))
    assert.is_nil(html:find("@import", 1, true))
    assert.is_nil(html:find("url(", 1, true))
    assert.matches("default-src 'none'", html, 1, true)
    S.verify()
  end)

  it("escapes < > & \" ' and invalid UTF-8", function()
    assert.are.equal("&lt;a href=&quot;x&quot;&gt;&amp;&#39;", monitor._escape([[<a href="x">&']]))
    assert.are.equal("a\u{FFFD}b", monitor._escape("a\255b"))
    assert.are.equal("\u{FFFD}", monitor._escape("\1"))
  end)

  it("raises argument errors in luaL_argerror's wording", function()
    assert.are.equal("bad argument #1 to 'start' (table expected, got string)", errmsg(monitor.start, "x"))
    assert.are.equal("bad argument #1 to 'start' (field 'capacity' must be an integer >= 1, got 0)",
      errmsg(monitor.start, { capacity = 0 }))
    assert.are.equal("bad argument #1 to 'start' (field 'sample' must be an integer >= 0, got 1.5)",
      errmsg(monitor.start, { sample = 1.5 }))
    assert.are.equal("bad argument #1 to 'start' (field 'clock' must be a function, got number)",
      errmsg(monitor.start, { clock = 1 }))
    assert.are.equal("bad argument #1 to 'start' (field 'read_budget' must be a number in (0, 1], got 0)",
      errmsg(monitor.start, { read_budget = 0 }))
    assert.is_false(monitor.is_running())
    monitor.start()
    assert.are.equal("bad argument #1 to 'report' (string expected, got number)", errmsg(monitor.report, 42))
    assert.are.equal("bad argument #1 to 'report' (string expected, got no value)", errmsg(monitor.report))
    assert.are.equal("bad argument #1 to 'report' (string expected, got nil)", errmsg(monitor.report, nil))
    assert.are.equal("bad argument #2 to 'report' (table expected, got number)", errmsg(monitor.report, "x.html", 5))
    assert.are.equal("bad argument #1 to 'summary' (table expected, got boolean)", errmsg(monitor.summary, true))
    assert.are.equal("bad argument #1 to 'summary' (field 'budget' must be a number >= 0, got string)",
      errmsg(monitor.summary, { budget = "x" }))
    assert.are.equal("bad argument #1 to 'summary' (field 'collect' must be a boolean, got number)",
      errmsg(monitor.summary, { collect = 1 }))
    assert.is_true(monitor.is_running())
    S.verify()
  end)
end)
