-- The incremental collector: Python's documented semantics for it, paced
-- increments, and switching at any time without losing or double-counting.
local S = require "spec.support"
local gc = S.gc

local function ring(n, Class, holder)
  local first = Class and Class() or gc.new_list()
  if holder then holder[#holder + 1] = first end
  local cur = first
  for _ = 2, n do
    local x = Class and Class() or gc.new_list()
    if Class then cur.next = x else cur[1] = x end
    if cur ~= first then gc.release(cur) end
    cur = x
  end
  if Class then cur.next = first else cur[1] = first end
  if cur ~= first then gc.release(cur) end
  gc.release(first)
end

describe("the incremental collector", function()
  before_each(function() S.reset(); gc.set_mode("incremental") end)
  after_each(function() S.verify(); gc.set_mode("generational") end)

  it("has a young and an old generation: get_objects(1) is empty", function()
    local keep = gc.new_list()
    gc.collect(0)
    assert.are.equal(0, #gc.get_objects(1))
    local found = false
    for _, o in ipairs(gc.get_objects(2)) do if rawequal(o, keep) then found = true end end
    assert.is_true(found)
    S.verify()
  end)

  it("collect(1) performs one increment; full passes find old garbage", function()
    gc.disable()
    -- old garbage: cycles promoted out of the young generation, then dropped
    local holder = gc.new_list()
    for i = 1, 50 do local l = gc.new_list(); l[1] = l; holder[i] = l; gc.release(l) end
    gc.collect(0)
    while #holder > 0 do holder[#holder] = nil end
    local function done() local st = gc.get_stats(); return st[2].collections + st[3].collections end
    local before = done()
    local found, steps = 0, 0
    repeat
      found = found + gc.collect(1)
      steps = steps + 1
      S.verify()
    until found >= 50 or steps > 100
    assert.are.equal(50, found)
    -- each call is one increment, or one full collection when the pass fell behind
    assert.are.equal(before + steps, done())
    gc.enable()
  end)

  it("collect(2) is a full collection", function()
    gc.disable()
    local holder = gc.new_list()
    for _ = 1, 10 do ring(5, nil, holder) end
    gc.collect(0) -- promoted: old now
    while #holder > 0 do holder[#holder] = nil end
    assert.are.equal(50, gc.collect(2))
    gc.enable()
  end)

  it("threshold2 is ignored and automatic collections are increments", function()
    gc.set_threshold(100, 2, 1)
    gc.collect()
    local st0 = gc.get_stats()
    local R = gc.class("R") -- one class: 200 classes promoted with their rings would pace a full collection
    for _ = 1, 200 do ring(3, R) end
    local st1 = gc.get_stats()
    assert.is_true(st1[2].collections > st0[2].collections) -- increments
    assert.are.equal(st0[3].collections, st1[3].collections) -- no full collection
    assert.are.equal(0, st1[1].collections - st0[1].collections)
  end)

  it("automatic increments keep cyclic garbage from outrunning the scan (peak <= 1.25x generational)", function()
    local function workload(mode)
      gc.set_mode(mode)
      gc.set_threshold(200)
      S.collect_all()
      local Req = gc.class("Req")
      local window = gc.new_list()
      local base, peak = gc.heap_info().objects, 0
      for i = 1, S.n(20000) do
        -- per-request cycles that live long enough to be promoted, then die old
        local r = Req(); r.me = r; r.data = gc.new_list{ i, i + 1, i + 2 }
        if #window < 300 then window[#window + 1] = r else window[(i % 300) + 1] = r end
        gc.release(r)
        if i % 50 == 0 then peak = math.max(peak, gc.heap_info().objects - base) end
      end
      gc.release(window)
      S.collect_all()
      return peak
    end
    local gen = workload("generational")
    local inc = workload("incremental")
    assert.is_true(inc <= 1.25 * gen, ("incremental peak %d objects, generational %d"):format(inc, gen))
  end)

  it("finalizers, resurrection and legacy objects behave as in generational mode", function()
    local saved = gc.new_list()
    local calls = 0
    local C = gc.class("C", { __del = function(self) calls = calls + 1; saved[#saved + 1] = self end })
    local a = C(); a.me = a; gc.release(a)
    S.collect_all()
    assert.are.equal(1, calls)
    saved[1] = nil
    assert.are.equal(1, S.collect_all())
    local L = gc.class("L", { legacy = true })
    local l = L(); l.me = l; gc.release(l)
    S.collect_all()
    assert.are.equal(1, #gc.garbage)
  end)

  it("freeze keeps frozen objects out of increments", function()
    local l = gc.new_list(); l[1] = l
    gc.freeze()
    gc.release(l)
    for _ = 1, 5 do assert.are.equal(0, gc.collect(1)) end
    gc.unfreeze()
    assert.are.equal(1, S.collect_all())
  end)
end)

describe("switching collectors", function()
  before_each(S.reset)
  after_each(function() S.verify(); gc.set_mode("generational") end)

  it("keeps every object, with a live heap, in both directions and repeatedly", function()
    gc.disable()
    local keep = gc.new_list()
    for i = 1, 1000 do keep[i] = gc.new_list{ i } end
    gc.collect(0)               -- some in generation 1
    for i = 1001, 2000 do keep[i] = gc.new_list{ i } end
    gc.collect(1)               -- some in generation 2
    for i = 2001, 2500 do keep[i] = gc.new_list{ i } end
    local tracked = gc.heap_info().tracked
    for _ = 1, 5 do
      gc.set_mode("incremental"); S.verify()
      assert.are.equal(tracked, gc.heap_info().tracked)
      gc.collect(1); S.verify()
      gc.set_mode("generational"); S.verify()
      assert.are.equal(tracked, gc.heap_info().tracked)
      gc.collect(0); S.verify()
    end
    for i = 1, 2500 do assert(keep[i][1] == i) end
    gc.enable()
  end)

  it("garbage made in one mode is collected in the other, exactly once", function()
    gc.disable()
    local holder = gc.new_list()
    for _ = 1, 20 do ring(4, nil, holder) end
    gc.collect(0) -- generation 1
    gc.set_mode("incremental")
    while #holder > 0 do holder[#holder] = nil end
    for _ = 1, 10 do ring(4) end
    assert.are.equal(120, gc.collect(2))
    gc.set_mode("generational")
    assert.are.equal(0, gc.collect())
    gc.enable()
  end)
end)
