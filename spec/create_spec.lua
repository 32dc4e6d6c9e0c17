-- Creation from Lua (issue 16): a new list, dict or instance has exactly
-- one handle, and every path that yields the object gives that same
-- userdata: reads, introspection, finalizers, weakrefs, the collection of
-- both heaps.  The identity cache is keyed by the object's address as an
-- integer (binding/handles.c); these specs hold whatever its layout.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify
local weakref = require "pygc.weakref"

local C = gc.class("CreateSpecC")

local makers = {
  list = function() return gc.new_list() end,
  ["list from a table"] = function() return gc.new_list { 1, "a" } end,
  dict = function() return gc.new_dict() end,
  ["dict from a table"] = function() return gc.new_dict { k = 1 } end,
  instance = function() return C() end,
  ["instance with attributes"] = function() return C { x = 1 } end,
}

local function found_in_objects(o)
  for _, v in ipairs(gc.get_objects()) do
    if rawequal(v, o) then return true end
  end
  return false
end

describe("creation from Lua keeps identity", function()
  before_each(support.reset)
  after_each(verify)

  for name, make in pairs(makers) do
    it("a new " .. name .. " is the same userdata when read back, listed or referred to", function()
      local o = make()
      local holder = gc.new_list { o }
      assert.is_true(rawequal(holder[1], o))
      -- an empty dict is not tracked (3.14's rule): not listed
      assert.are.equal(gc.is_tracked(o), found_in_objects(o))
      local refs = gc.get_referrers(o)
      local seen = false
      for _, r in ipairs(refs) do if rawequal(r, holder) then seen = true end end
      assert.is_true(seen)
      assert.is_true(rawequal(gc.get_referents(holder)[1], o))
      verify()
    end)
  end

  it("thousands of live new objects, each found again as itself", function()
    local n = support.n(5000)
    local mine, byid = {}, {}
    for i = 1, n do
      local o = (i % 3 == 0 and gc.new_list()) or (i % 3 == 1 and gc.new_dict()) or C()
      mine[i] = o
      byid[gc.id(o)] = o
    end
    local tracked = 0
    for i = 1, n do if gc.is_tracked(mine[i]) then tracked = tracked + 1 end end
    assert.is_true(tracked >= n // 2)
    local hits = 0
    for _, v in ipairs(gc.get_objects()) do
      local want = byid[gc.id(v)]
      if want ~= nil then
        assert.is_true(rawequal(v, want))
        hits = hits + 1
      end
    end
    assert.are.equal(tracked, hits)
    -- and stored in a container then read back, after the cache has grown
    local all = gc.new_list(mine)
    for i = 1, n do assert.is_true(rawequal(all[i], mine[i])) end
    verify()
  end)

  it("gc.new_list(t) that meets an item the quick way does not take midway copies all of t", function()
    local h = C()
    local t = { 1, "s", h, { k = 1 }, 2.5, gc.None, true }
    local before = gc.refcount(h)
    local l = gc.new_list(t)
    assert.are.equal(7, #l)
    assert.are.equal(1, l[1]); assert.are.equal("s", l[2]); assert.is_true(rawequal(l[3], h))
    assert.are.equal(1, l[4].k); assert.is_true(rawequal(l[4], t[4]))
    assert.are.equal(2.5, l[5]); assert.is_true(rawequal(l[6], gc.None)); assert.is_true(l[7])
    -- the quick attempt's list went, with its reference to h
    assert.are.equal(before + 1, gc.refcount(h))
    gc.release(l)
    assert.are.equal(before, gc.refcount(h))
    -- a released handle midway: the long way says what is wrong
    local dead = C()
    gc.release(dead)
    local ok, err = pcall(gc.new_list, { 1, "x", h, dead })
    assert.is_false(ok)
    assert.matches("released handle", tostring(err))
    support.collect_all() -- the long way's half-made list goes with its box
    assert.are.equal(before, gc.refcount(h))
    verify()
  end)

  it("a finalizer reading a live new object gets its handle", function()
    local kept = C()
    local got
    local D = gc.class("CreateSpecD", { __del = function(self) got = self.other end })
    local d = D()
    d.other = kept
    gc.release(d); d = nil
    assert.is_true(rawequal(got, kept))
  end)

  it("a weakref made on a new object gives it back, and its callback gets the weakref", function()
    local o = C()
    local seen
    local r = weakref.ref(o, function(w) seen = w end)
    assert.is_true(rawequal(r(), o))
    gc.release(o); o = nil
    assert.is_true(rawequal(seen, r))
  end)

  it("a new object held only through a Lua table the heap holds keeps its identity across gc.collect()", function()
    local o = gc.new_list { 7 }
    local holder = gc.new_list { { o } }
    collectgarbage(); collectgarbage()
    gc.collect()
    assert.is_true(rawequal(holder[1][1], o))
    assert.are.equal(7, o[1])
    o = nil -- luacheck: ignore (dropped: the list goes with its holder's entry)
    holder[1] = gc.None
    support.collect_all()
    verify()
  end)

  it("a handle made while the cache is full of dead entries is still the only one", function()
    -- dead handles leave their cache entries until Lua clears them: churn
    -- many, then create and look up again
    for _ = 1, support.n(20000) do local _ = gc.new_list() end
    local o = gc.new_list()
    assert.is_true(found_in_objects(o))
    local l = gc.new_list { o, o }
    assert.is_true(rawequal(l[1], l[2]))
    assert.is_true(rawequal(l[1], o))
  end)

  it("C() survives a Lua finalizer that releases the class's last handle while the instance is made", function()
    -- Lua finalizers run inside the allocations C() makes (the handle is
    -- made before the instance); each one here releases the class being
    -- called, which nothing else holds until its first instance exists
    local current
    local mt = { __gc = function() if current then pcall(gc.release, current) end end }
    -- a minor collection every 1% of growth runs the young garbage's
    -- finalizers at once: hundreds of them land inside C()
    collectgarbage("generational", 1, 100)
    local made = 0
    for _ = 1, 2000 do
      for _ = 1, 10 do setmetatable({}, mt) end
      local K = gc.class("Doomed", { hello = function() return "hello" end })
      current = K
      local ok, inst = pcall(K)
      current = nil
      if ok then
        made = made + 1
        assert.equal("Doomed", gc.type(inst))
        assert.equal("hello", inst:hello()) -- through the class the instance holds
      end
    end
    collectgarbage("incremental")
    assert.is_true(made > 0)
    collectgarbage()
    gc.collect()
    verify()
  end)
end)

