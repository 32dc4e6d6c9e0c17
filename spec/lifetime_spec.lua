-- Handle lifetimes at the Lua boundary: borrowed handles end when their
-- borrow ends, never because a weak table lost an entry; hooks run on a
-- thread that is alive; a finalizer that reads its cycle does not keep it.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

local function released(h)
  local ok, err = pcall(function() return h.x end)
  return not ok and tostring(err):find("use of a released handle", 1, true) ~= nil
end

describe("borrowed handles", function()
  before_each(support.reset)
  after_each(verify)

  it("a finalizer's self kept in a Lua table that Lua finalizes later is released, not dangling", function()
    local L1 = gc.new_list()
    local s
    local C = gc.class("C", { __del = function(self) L1[1] = self; s = self end })
    local o = C { x = 1 }
    gc.release(o); o = nil
    local outcome
    local T = setmetatable({ h = s }, { __gc = function(t) -- luacheck: ignore (dropped at once: its __gc runs)
      local h = t.h
      gc.release(L1) -- frees the resurrected object
      outcome = released(h)
    end })
    s = nil; T = nil
    collectgarbage(); collectgarbage()
    assert.is_true(outcome)
  end)

  it("clearing the identity cache through the registry cannot make a handle dangle", function()
    local keep = gc.new_list()
    local s
    local C = gc.class("C", { __del = function(self) keep[1] = self; s = self end })
    local o = C { x = 1 }
    gc.release(o); o = nil
    -- wipe every weak-valued table in the registry (the identity cache among
    -- them; the weak-keyed map of Lua values to their lrefs is left alone:
    -- wiping it leaves the lrefs that live classes hold for their methods
    -- unfindable by value for the rest of this process, and later specs
    -- size every object gc.get_objects lists)
    for _, v in pairs(debug.getregistry()) do
      local mt = type(v) == "table" and getmetatable(v)
      if mt and type(mt.__mode) == "string" and mt.__mode:find("v") then
        for k in pairs(v) do v[k] = nil end
      end
    end
    keep[1] = nil -- the object dies now
    assert.is_true(released(s))
    -- and a handle obtained before the wipe still works
    local l = gc.new_list { 1 }
    for _, v in pairs(debug.getregistry()) do
      local mt = type(v) == "table" and getmetatable(v)
      if mt and type(mt.__mode) == "string" and mt.__mode:find("v") then
        for k in pairs(v) do v[k] = nil end
      end
    end
    assert.equal(1, l[1])
  end)

  it("self kept past __del is released once __del returns; the object lives on if it was stored", function()
    local keep = gc.new_list()
    local kept
    local C = gc.class("C", { __del = function(self) kept = self; keep[1] = self end })
    local o = C { x = 7 }
    gc.release(o); o = nil
    assert.is_true(released(kept))
    assert.equal(7, keep[1].x) -- resurrected through the list
    assert.is_false(rawequal(kept, keep[1]))
  end)

  it("self read back through a container inside __del is the same userdata and then owns", function()
    local keep = gc.new_list()
    local same, kept
    local C = gc.class("C", { __del = function(self)
      keep[1] = self
      kept = keep[1]
      same = rawequal(kept, self)
    end })
    local o = C { x = 3 }
    gc.release(o); o = nil
    assert.is_true(same)
    keep[1] = nil -- the handle in `kept` now owns the object
    assert.equal(3, kept.x)
    gc.release(kept)
  end)

  it("a handle to a partner read in __del during a collection ends with the finalizer phase", function()
    local seen = {}
    local N = gc.class("N", { __del = function(self) seen[#seen + 1] = self.partner end })
    local a, b = N { name = "a" }, N { name = "b" }
    a.partner, b.partner = b, a
    gc.release(a, b); a, b = nil, nil
    assert.equal(2, gc.collect())
    assert.equal(2, #seen)
    for _, h in ipairs(seen) do assert.is_true(released(h)) end
    assert.equal(0, gc.collect())
  end)

  it("a borrowed handle stays valid for the whole finalizer phase", function()
    local got = {}
    local stash
    local N = gc.class("N", { __del = function(self)
      if stash then got[#got + 1] = stash.name end
      stash = self.partner
    end })
    local a, b = N { name = "a" }, N { name = "b" }
    a.partner, b.partner = b, a
    gc.release(a, b); a, b = nil, nil
    assert.equal(2, gc.collect())
    assert.equal(1, #got) -- the second finalizer read what the first kept
    assert.is_true(released(stash))
  end)
end)

describe("finalizers that read their cycle", function()
  before_each(support.reset)
  after_each(verify)

  for _, mode in ipairs { "generational", "incremental" } do
    it("are collected in one collection, as Python (" .. mode .. ")", function()
      gc.set_mode(mode)
      local names = {}
      local N = gc.class("N", { __del = function(self)
        names[#names + 1] = self.name .. ">" .. self.partner.name .. ">" .. self.partner.partner.name
        assert(rawequal(self.partner.partner, self))
      end })
      local a, b = N { name = "a" }, N { name = "b" }
      a.partner, b.partner = b, a
      gc.release(a, b); a, b = nil, nil
      assert.equal(2, gc.collect())
      assert.equal(0, gc.collect())
      table.sort(names)
      assert.same({ "a>b>a", "b>a>b" }, names)
    end)
  end

  it("a self-cycle whose finalizer reads itself is collected once", function()
    local runs = 0
    local S = gc.class("S", { __del = function(self) runs = runs + 1; local _ = self.me.me end })
    local s = S {}
    s.me = s
    gc.release(s); s = nil
    assert.equal(1, gc.collect())
    assert.equal(0, gc.collect())
    assert.equal(1, runs)
  end)

  it("storing into a reachable container still resurrects, and only that", function()
    local keep = gc.new_list()
    local N = gc.class("N", { __del = function(self)
      if self.name == "a" then keep[1] = self end
      local _ = self.partner.name
    end })
    local a, b = N { name = "a" }, N { name = "b" }
    a.partner, b.partner = b, a
    gc.release(a, b); a, b = nil, nil
    assert.equal(0, gc.collect()) -- both survive: a is stored, b is reachable from a
    assert.equal("b", keep[1].partner.name)
    assert.is_true(gc.is_finalized(keep[1]))
    keep[1] = nil
    collectgarbage(); collectgarbage()
    assert.equal(2, gc.collect()) -- finalizers do not run again
  end)

  it("get_referents inside __del gives borrowed handles too", function()
    local handles = {}
    local N = gc.class("N", { __del = function(self)
      for _, o in ipairs(gc.get_referents(self)) do
        if gc.type(o) == "N" then handles[#handles + 1] = o end
      end
    end })
    local a, b = N {}, N {}
    a.p, b.p = b, a
    gc.release(a, b); a, b = nil, nil
    assert.equal(2, gc.collect())
    assert.is_true(#handles >= 2)
    for _, h in ipairs(handles) do assert.is_true(released(h)) end
  end)
end)

describe("the thread hooks run on", function()
  before_each(support.reset)
  after_each(verify)

  it("a coroutine that called pygc and then died is never used by a later hook", function()
    local calls = 0
    gc.callbacks[1] = function() calls = calls + 1 end
    gc.set_threshold(1)
    for _ = 1, 50 do
      local t = setmetatable({ 1, 2 }, { __len = function()
        coroutine.wrap(function() KEEP = gc.new_dict() end)()
        collectgarbage() -- the coroutine is garbage now
        return 2
      end })
      local ok = pcall(gc.new_tuple, t)
      assert.is_true(ok)
    end
    KEEP = nil
    gc.set_threshold(700)
    assert.is_true(calls > 0)
  end)

  it("a suspended coroutine that called pygc is not used to run hooks", function()
    local calls = 0
    gc.callbacks[1] = function() calls = calls + 1; local _ = coroutine.running() end
    gc.set_threshold(1)
    local co
    local t = setmetatable({ 1, 2, 3 }, { __len = function()
      co = coroutine.create(function() local d = gc.new_dict(); coroutine.yield(d); return 1 end)
      coroutine.resume(co)
      return 3
    end })
    for _ = 1, 20 do assert.is_true((pcall(gc.new_tuple, t))) end
    gc.set_threshold(700)
    assert.is_true(calls > 0)
  end)

  it("finalizers still see errors reported and may resume coroutines", function()
    local errs = {}
    gc.unraisablehook = function(err) errs[#errs + 1] = tostring(err) end
    local C = gc.class("C", { __del = function()
      local co = coroutine.wrap(function() coroutine.yield(gc.new_list { 1 }) end)
      local l = co()
      assert(l[1] == 1)
      error("boom")
    end })
    local o = C {}
    gc.release(o)
    assert.equal(1, #errs)
    assert.truthy(errs[1]:find("boom"))
  end)
end)
