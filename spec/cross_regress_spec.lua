-- Regressions found by fuzz/cross_model.lua (the randomized model test of
-- one graph across both heaps), each the smallest program that showed it.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

-- Clear the identity cache (every weak-valued registry table), as a hostile
-- script can through debug.getregistry(): live handles lose their entries.
local function clear_cache()
  for _, v in pairs(debug.getregistry()) do
    if type(v) == "table" then
      local mt = getmetatable(v)
      if type(mt) == "table" and mt.__mode == "v" then
        for k in pairs(v) do v[k] = nil end
      end
    end
  end
end

describe("cross-heap collections, found by the model test", function()
  before_each(support.reset)
  after_each(verify)

  it("a stored value survives two gc.collect() in a row", function()
    -- the first collection's keeper of the list's table stayed pending
    -- finalization; Lua ran it inside the second one, while the value was
    -- out of its anchor, and it wrote nil there
    local keep = gc.new_list()
    keep[1] = { v = 42 }
    local weak = setmetatable({ keep[1] }, { __mode = "v" })
    gc.collect()
    gc.collect()
    collectgarbage()
    assert.are.equal("table", type(keep[1]))
    assert.are.equal(42, keep[1].v)
    assert.is_true(rawequal(weak[1], keep[1]))
  end)

  it("gc.collect() from inside a Lua finalizer loses no stored value", function()
    -- Lua runs no collection from inside a finalizer, so that mirror's
    -- keepers were all left pending for the next cross-heap collection
    local keep = gc.new_list()
    keep[1] = { v = 7 }
    local inner
    setmetatable({}, { __gc = function() inner = gc.collect() end })
    collectgarbage()
    assert.is_not_nil(inner)
    gc.collect()
    collectgarbage()
    assert.are.equal(7, keep[1].v)
  end)
end)

-- Found by the model test as "known" shapes (tolerated unless
-- PYGC_XMODEL_STRICT=1), fixed since: Python's answers.
describe("cross-heap collections, finalizers and the Lua part of gc.collect()", function()
  before_each(support.reset)
  after_each(verify)

  it("a finalizer's dying Lua value keeps the objects it holds readable until the finalizers ran", function()
    -- the list reaches no Lua value, so it is outside the mirrored set; Lua
    -- finalizes its handle in the Lua part of gc.collect() and the list is
    -- freed before the instance's __del reads it (CPython: intact)
    local got
    local D = gc.class("D", { __del = function(self) got = { pcall(function() return self.t.h[1] end) } end })
    do
      local x = D()
      x.t = { h = gc.new_list { "p" } }
    end
    gc.collect()
    assert.same({ true, "p" }, got)
  end)

  it("handles made by a finalizer run from a handle's __gc do not keep their objects over gc.collect()", function()
    -- CPython: collect 1, nothing left; pygc: 0, the cycle stays for one more
    local Owner = gc.class("Owner", { __del = function(self) local _ = self.child end })
    local Node = gc.class("Node")
    do
      local o = Owner()
      o.child = Node()
      o.child.me = o.child
    end
    assert.are.equal(1, gc.collect())
  end)
end)

-- Two owning handles to one object: Lua clears a handle's weak cache entry
-- when it finds the handle garbage, before its __gc runs; a Lua finalizer
-- that runs first and reads the object makes a second handle.  The heap
-- must count both exactly: one bit lost the second (the object looked held
-- by C and was never collected) or could count one too many.
describe("cross-heap collections, objects with two owning handles", function()
  before_each(support.reset)
  after_each(verify)

  -- h1 is made, then a Lua table whose __gc yields the object again: Lua
  -- runs finalizers newest first, so the table's runs while h1 waits for its
  -- own, with h1's cache entry already gone
  local function second_handle(holder)
    local got
    do
      local h1 = holder[1]
      assert(h1)
      setmetatable({}, { __gc = function() got = holder[1] end })
    end -- the next call reuses h1's register
    collectgarbage()
    collectgarbage()
    return got
  end

  it("a finalizer that yields an object whose handle is being finalized makes a handle that counts", function()
    local holder = gc.new_list { gc.new_dict() }
    local h2 = second_handle(holder)
    assert.is_not_nil(h2)
    assert.are.equal(1 + 1, gc.refcount(h2)) -- the list and one live handle
    -- a cycle through Lua: the dict holds a table that holds its handle
    h2.t = { back = h2 }
    local w = setmetatable({ h2.t }, { __mode = "v" })
    local id = gc.id(h2)
    h2 = nil
    holder[1] = gc.None
    local n = gc.collect()
    assert.is_true(n >= 2, "collected " .. n) -- the dict and its Lua value
    collectgarbage()
    assert.is_nil(w[1])
    for _, o in ipairs(gc.get_objects()) do assert.are_not.equal(id, gc.id(o)) end
  end)

  it("the second handle keeps its object alive through a collection of both heaps", function()
    local holder = gc.new_list { gc.new_dict() }
    local h2 = second_handle(holder)
    h2.t = { v = 42 }
    holder[1] = gc.None -- only h2 (a Lua local) holds the dict now
    gc.collect()
    collectgarbage()
    gc.collect()
    assert.are.equal(42, h2.t.v)
  end)

  it("handles duplicated through a cleared identity cache count, and each keeps its object", function()
    -- debug.getregistry() lets a script clear the cache: two live handles
    local holder = gc.new_list { gc.new_dict() }
    local a = holder[1]
    clear_cache()
    local b = holder[1]
    assert.is_false(rawequal(a, b))
    a.t = { v = 1 }
    holder[1] = gc.None
    gc.release(a)          -- b still holds the dict
    gc.collect()
    collectgarbage()
    assert.are.equal(1, b.t.v)
    -- both in a cycle through Lua, then dropped: kept whole.  The mirror
    -- maps only the cached handle (d), so c's reference is a root: Lua
    -- could not see that c is reached only through the dict's own table
    -- (the review's "uncached handle" specs below show what counting it
    -- as Lua's lost).  Collecting it would take a record of every owning
    -- handle, not one per object; see the pending spec after this one.
    local c = b
    clear_cache()
    holder[1] = b
    local d = holder[1]
    holder[1] = gc.None
    b.t.pair = { c, d }
    local w = setmetatable({ b.t }, { __mode = "v" })
    b, c, d = nil, nil, nil
    gc.collect()
    collectgarbage()
    verify()
    assert.are.equal("table", type(w[1]))
    assert.are.equal(1, w[1].pair[1].t.v)
    assert.are.equal(1, w[1].pair[2].t.v)
    w[1].pair = nil -- break the cycle: the dict goes with its handles
  end)

  -- Known limitation, kept pending: a cycle through Lua that runs through
  -- an owning handle the identity cache lost (a script cleared it through
  -- debug.getregistry()) is never collected.  The mirror cannot map a
  -- handle it cannot find, and counting it as Lua's loses reachable values
  -- (see the review's specs below); exact would need a weak record of
  -- every owning handle of an object with more than one.
  pending("a cycle through Lua via two handles, one of them uncached, is collected once dropped")
end)

-- Found by the review of exact handle counting: the mirror maps only the
-- handle the identity cache holds, so any other owning handle's reference
-- must stay a root, or what only it reaches looks unreachable to Lua
-- (weak entries cleared, handles under it finalized and released).
describe("cross-heap collections, owning handles the identity cache does not hold", function()
  before_each(support.reset)
  after_each(verify)

  it("an uncached handle reachable from a root keeps what its object holds intact", function()
    -- two live handles a and b; b (the cached one) is dropped right before
    -- gc.collect(): a reaches the dict, its table and the list in it
    local holder = gc.new_list { gc.new_dict() }
    local a = holder[1]
    clear_cache()
    local b = holder[1]
    assert.is_false(rawequal(a, b))
    holder[1] = gc.None
    a.t = { inner = gc.new_list { "p" } }
    local weak = setmetatable({ a.t }, { __mode = "v" })
    b = nil
    gc.collect()
    verify()
    assert.is_true(rawequal(weak[1], a.t))
    assert.are.equal("p", a.t.inner[1])
  end)

  it("the only handle, dropped from the cache, keeps what its object holds intact", function()
    local holder = gc.new_list { gc.new_dict() }
    local a = holder[1]
    clear_cache()
    holder[1] = gc.None
    a.t = { inner = gc.new_list { "p" } }
    local weak = setmetatable({ a.t }, { __mode = "v" })
    gc.collect()
    verify()
    assert.is_true(rawequal(weak[1], a.t))
    assert.are.equal("p", a.t.inner[1])
  end)
end)

-- Found by the review: a collection of the heap run from a Lua finalizer
-- while gc.collect() mirrors (Lua refuses to collect from inside a
-- finalizer, so gc.collect() there is pygc's alone) ended, at the end of
-- its own finalizer phase, every borrow of the phase list, the outer
-- collection's lent handles included.
describe("cross-heap collections, a heap collection from a Lua finalizer meanwhile", function()
  before_each(support.reset)
  after_each(verify)

  it("leaves the handles the outer collection lent readable by the later finalizers", function()
    local C = gc.class("C", { __del = function() end })
    local got, nested
    do local d = gc.new_dict(); d.t = {} end -- a set to mirror
    do
      -- finalizers run newest first: the list's handle (lent), U, then T
      local T = setmetatable({}, { __gc = function(t) got = { pcall(function() return t.h[1] end) } end })
      local _ = setmetatable({}, { __gc = function()
        do local x = C(); x.me = x; gc.release(x) end -- garbage with a __del: a finalizer phase
        nested = gc.collect()
      end })
      T.h = gc.new_list { "p" }
    end
    gc.collect()
    assert.are.equal(1, nested)
    assert.same({ true, "p" }, got)
  end)
end)

-- Found by the review: the extra owning handles were kept in an array
-- searched linearly on every handle's release, so a finalizer that read a
-- large dying structure (one second handle per object) made the releases
-- that followed quadratic (80,000 objects: 4.7 s, not 0.08 s; see
-- bench/owner_extras.lua).  They are a hash table now; this checks its
-- counts through growth and removals in any order.
describe("owning handles, counted per object in bulk", function()
  before_each(support.reset)
  after_each(verify)

  it("keeps every object's count exact while handles go in a scrambled order", function()
    local N = support.n(300)
    local holder = gc.new_list()
    for i = 1, N do holder[i] = gc.new_dict() end
    collectgarbage() -- the constructors' handles go
    local hs, owner, left, mine = {}, {}, {}, {}
    for r = 1, 3 do
      clear_cache()
      for i = 1, N do
        if r == 1 or i % r ~= 0 then
          hs[#hs + 1] = holder[i]
          owner[#hs] = i
          mine[i] = mine[i] or {}
          table.insert(mine[i], #hs)
          left[i] = (left[i] or 0) + 1
        end
      end
    end
    for i = 1, N do assert.are.equal(1 + left[i], gc.refcount(hs[i])) end
    local seed = 12345
    local idx = {}
    for k = 1, #hs do idx[k] = k end
    for k = #idx, 2, -1 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      local j = seed % k + 1
      idx[k], idx[j] = idx[j], idx[k]
    end
    for step, k in ipairs(idx) do
      local i = owner[k]
      gc.release(hs[k])
      hs[k] = false
      left[i] = left[i] - 1
      if step % 37 == 0 then
        for j = 1, N do
          local probe = holder[j] -- a live handle, or a new one (counted too)
          local known = false
          for _, k2 in ipairs(mine[j]) do
            if hs[k2] and rawequal(hs[k2], probe) then known = true end
          end
          assert.are.equal(1 + left[j] + (known and 0 or 1), gc.refcount(probe))
          if not known then gc.release(probe) end
        end
        verify()
      end
    end
    for j = 1, N do
      local h = holder[j]
      assert.are.equal(2, gc.refcount(h))
      gc.release(h)
      assert.are.equal(2, gc.refcount(holder[j]))
    end
  end)
end)
