-- An attacker's review of issue 16's fast paths (attribute hints, unpinned
-- int stores, the quick gc.new_list(t), the identity cache keyed by
-- integers, the bulk release of small garbage sets): each spec here is a
-- shape that broke a fast path (it failed before its fix) or one that was
-- tried against it and held.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

describe("review 2: a finalizer run while a new object is bound to its handle", function()
  before_each(support.reset)
  after_each(verify)

  it("gc.new_list(t) survives a finalizer that releases the new list's handle", function()
    -- a fresh state, whose Lua heap is small: the step of Lua's collector
    -- that binding the new list to its handle takes (the binding paces
    -- every 256 KiB the heap grows without a handle made) finishes a cycle
    -- and runs the dead handle's __gc, hence D's __del, which finds the new
    -- list through gc.get_objects and releases the very handle gc.new_list
    -- is about to return.  Before the fix the quick path then appended to
    -- the freed list.
    local out, ok = support.run_lua([[
      local gc = require "pygc"
      local known, fired, bad = {}, 0, 0
      local D = gc.class("D", { __del = function()
        local objs = gc.get_objects()
        for i = 1, #objs do
          local o = objs[i]
          if gc.type(o) == "list" and #o == 0 and not known[o] then
            fired = fired + 1
            gc.release(o)
          end
        end
      end })
      local big = gc.new_list()
      known[big] = true
      for _ = 1, 6 do
        do local _ = D() end -- a dead handle: Lua's next step finalizes it
        for i = 1, 20000 do big[#big + 1] = i + 0.5 end -- past the pace, no handle made
        local l = gc.new_list { 1, "two", 3.5 }
        local good, n = pcall(function() return #l end)
        if not good or n ~= 3 or l[1] ~= 1 or l[2] ~= "two" or l[3] ~= 3.5 then bad = bad + 1 end
        known[l] = true
        assert(gc._verify())
        while #big > 0 do big[#big] = nil end
      end
      print(("fired %d bad %d"):format(fired, bad))
    ]])
    assert.is_true(ok, out)
    assert.matches("fired [1-9]%d* bad 0", out)
  end)

  it("every constructor and reader meets the same finalizer and leaves the heap whole", function()
    -- the finalizer releases every handle it did not know: the objects a
    -- call is making or reading.  A call may then give a released handle
    -- or raise that it met one (the finalizer let go of it); nothing else.
    local out, ok = support.run_lua([[
      local gc = require "pygc"
      local weakref = require "pygc.weakref"
      local known = setmetatable({}, { __mode = "k" })
      local fired, other = 0, 0
      local D = gc.class("D", { __del = function()
        local objs = gc.get_objects()
        for i = 1, #objs do
          local o = objs[i]
          if type(o) == "userdata" and not known[o] then fired = fired + 1; pcall(gc.release, o) end
        end
      end })
      local big, hold = gc.new_list(), gc.new_list()
      local C = gc.class("C", { m = 1 })
      local E = gc.class("E", { __init = function(self, a) self.a = a end })
      for i = 1, 5 do local x = C(); x.v = gc.new_list { i }; hold[#hold + 1] = x end
      for _, o in ipairs(gc.get_objects()) do known[o] = true end
      local ops = {
        function() return gc.new_list { 1, "a" } end,
        function() return gc.new_list() end,
        function() return gc.new_list { hold[1], {} } end,
        function() return gc.new_dict { a = 1 } end,
        function() return gc.new_dict() end,
        function() return gc.new_tuple { 1, "a" } end,
        function() return C() end,
        function() return C { x = 1, y = "s" } end,
        function() return E(5) end,
        function() return gc.class("F", { z = 2, f = function() end }) end,
        function() return weakref.ref(hold[1]) end,
        function() return weakref.proxy(hold[2]) end,
        function() return gc.get_referrers(hold[1]) end,
        function() return hold[3].v end,
        function() local t = {} for _, v in pairs(hold[4]) do t[#t + 1] = v end return t end,
      }
      for _ = 1, 3 do
        for _, op in ipairs(ops) do
          do local _ = D() end
          for i = 1, 20000 do big[#big + 1] = i + 0.5 end
          local good, e = pcall(op)
          if not good and not tostring(e):find("use of a released handle", 1, true) then
            other = other + 1; print(e)
          end
          while #big > 0 do big[#big] = nil end
          assert(gc._verify())
        end
      end
      print(("fired %d other %d"):format(fired, other))
    ]])
    assert.is_true(ok, out)
    assert.matches("fired [1-9]%d* other 0", out)
  end)
end)

describe("review 2: shapes tried against the fast paths that held", function()
  before_each(support.reset)
  after_each(verify)

  it("int stores into table-mode instances whose old value's __del releases the instance", function()
    local victim
    local D = gc.class("D", { __del = function() gc.release(victim) end })
    local C = gc.class("C")
    for round = 1, 12 do
      local o = C()
      victim = o
      if round % 3 == 0 then for i = 1, 20 do o["k" .. i] = i end end -- more names than the keys take
      if round % 3 == 1 then o.x = 1 << 60 end -- a value no word holds
      local d = D()
      o.x = d
      gc.release(d) -- o.x holds the only reference
      o.x = round % 2 == 0 and 1 << 55 or 7 -- the old value dies, and with it o
      verify()
      assert.has_error(function() return o.x end, "pygc: use of a released handle")
    end
  end)

  it("a small garbage set released as a whole lets an outside object's __del look around", function()
    local log = {}
    local D = gc.class("D", { __del = function(self)
      local ok, msg = gc._verify()
      log[#log + 1] = ok or msg
      local objs = gc.get_objects()
      for i = 1, #objs do local _ = tostring(objs[i]) end
      local _ = gc.new_list { 1, 2, 3 }
      log[#log + 1] = gc.collect() -- refused inside the collection: 0
      log[#log + 1] = #gc.get_referrers(self)
    end })
    for _ = 1, 3 do
      local f = D()
      gc.freeze() -- f is no candidate: only the cycle below refers to it
      local a, b = gc.new_list(), gc.new_list()
      a[1] = b; b[1] = a; a[2] = f
      gc.release(f)
      a, b = nil, nil -- luacheck: ignore
      collectgarbage(); collectgarbage()
      assert.equal(2, gc.collect(0)) -- the cycle, released as a whole; f dies by its count
      gc.unfreeze()
      verify()
    end
    assert.same({ true, 0, 0, true, 0, 0, true, 0, 0 }, log)
  end)

  it("a weakref callback that gives the class of unreachable instances a __del", function()
    local weakref = require "pygc.weakref"
    local C = gc.class("C")
    local dels, refs = 0, {}
    for _ = 1, 3 do
      local a, b, t = gc.new_list(), gc.new_list(), C()
      a[1] = b; b[1] = a; a[2] = t
      refs[#refs + 1] = weakref.ref(t, function()
        verify()
        C.__del = function() dels = dels + 1 end
      end)
      a, b, t = nil, nil, nil -- luacheck: ignore
      collectgarbage(); collectgarbage()
      assert.equal(3, gc.collect())
      C.__del = nil
      verify()
    end
    assert.equal(3, dels) -- set after the analysis: runs as the instance dies by its count
  end)
end)

describe("review 2: attribute hints against a model", function()
  before_each(support.reset)
  after_each(verify)

  -- random stores, deletions, class changes, runtime-made names (their
  -- strings collected, addresses reused), values no word holds, table
  -- mode, and __del that changes any instance in the middle of a store;
  -- every read compared with a plain Lua model.  The model is updated
  -- before each heap operation: a __del the operation runs changes both
  -- after it, as it changes the heap after the store.
  local function walk(seed, steps)
    local rng = seed
    local function R(n) -- a small LCG: the walk is the same on every run
      rng = (rng * 1103515245 + 12345) % 2147483648
      return rng % n + 1
    end
    local function nm(i) return (i > 12 and "longattributename_number_" or "a") .. tostring(i) end
    local classes, cmodels, objs, models = {}, {}, {}, {}
    local D = gc.class("D", { __del = function()
      local k = R(#objs)
      local o, m = objs[k], models[k]
      local n, op = nm(R(20)), R(4)
      if op == 1 then m[n] = nil; o[n] = nil
      elseif op == 2 then local v = R(1000); m[n] = v; o[n] = v
      elseif op == 3 then for i = 1, 18 do local nn = nm(i); m[nn] = i; o[nn] = i end
      else collectgarbage() end
    end })
    for c = 1, 3 do classes[c] = gc.class("W" .. c); cmodels[c] = {} end
    local function fresh(c) return classes[c](), setmetatable({ cls = c }, { __index = cmodels[c] }) end
    for i = 1, 12 do local o, m = fresh(R(3)); objs[i], models[i] = o, m end
    for step = 1, steps do
      local k, n, op = R(#objs), nm(R(20)), R(10)
      local o, m = objs[k], models[k]
      if op <= 3 then
        local v = R(3) == 1 and (1 << 50) + R(5) or R(100)
        m[n] = v; o[n] = v
      elseif op == 4 then
        m[n] = nil; o[n] = nil
      elseif op == 5 then
        local d = D(); m[n] = "D"; o[n] = d; gc.release(d)
      elseif op == 6 then
        local c = m.cls
        if R(2) == 1 then local v = R(100); cmodels[c][n] = v; classes[c][n] = v
        else cmodels[c][n] = nil; classes[c][n] = nil end
      elseif op == 7 then
        local v = R(2) == 1 and "s" .. R(9) or R(9) + 0.5
        m[n] = v; o[n] = v
      elseif op == 8 then
        for j = 1, 20 do assert.is_nil(o["junk" .. R(1000000) .. "_" .. j]) end
        if R(4) == 1 then collectgarbage() end
      elseif op == 9 then
        local no, nmod = fresh(R(3))
        objs[k], models[k] = no, nmod
      elseif R(20) == 1 then
        gc.collect()
      end
      o, m = objs[k], models[k]
      for i = 1, 20 do
        local name = nm(i)
        local want = rawget(m, name)
        if want == nil then want = cmodels[m.cls][name] end
        local got = o[name]
        if type(got) == "userdata" and gc.type(got) == "D" then got = "D" end
        if got ~= want then
          error(("seed %d step %d: %s is %s, the model says %s"):format(seed, step, name, tostring(got), tostring(want)))
        end
      end
      if step % 250 == 0 then verify() end
    end
    -- D's __del holds objs, whose instances hold D instances: a cycle
    -- through both heaps that runs through a class with live instances,
    -- which the collection of both heaps leaves (lib/pygc.h, pygc_cross_set)
    for i = 1, #objs do objs[i] = nil end
  end

  it("generational", function() walk(7, support.n(3000)) end)
  it("incremental", function()
    gc.set_mode("incremental")
    walk(8, support.n(3000))
  end)
end)
