-- An attacker's review of issue 16's fast paths (attribute hints, unpinned
-- int stores, the quick gc.new_list(t), the identity cache keyed by
-- integers, the bulk release of small garbage sets): each spec here is a
-- shape that broke a fast path (it failed before its fix) or one that was
-- tried against it and held.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

-- grow the heap by more than the binding's pace (PACE_BYTES, 256 KiB)
-- without making a handle, so that the next handle made paces: a step of
-- Lua's collector, which runs pending __gc metamethods, hence __del
local function grow(big)
  for i = 1, 20000 do big[#big + 1] = i + 0.5 end
end

describe("review 2: a finalizer run while a new object is bound to its handle", function()
  before_each(support.reset)
  after_each(verify)

  it("gc.new_list(t) survives a finalizer that releases the new list's handle", function()
    local known, fired = {}, 0
    local D = gc.class("D", { __del = function()
      local objs = gc.get_objects()
      for i = 1, #objs do
        local o = objs[i]
        if gc.type(o) == "list" and #o == 0 and not known[o] then
          fired = fired + 1
          gc.release(o) -- the handle gc.new_list is about to return
        end
      end
    end })
    local big = gc.new_list()
    known[big] = true
    for _ = 1, 6 do
      do local _ = D() end -- a dead handle: Lua's next step finalizes it
      grow(big)
      local l = gc.new_list { 1, "two", 3.5 }
      assert.equal(3, #l)
      assert.equal(1, l[1]); assert.equal("two", l[2]); assert.equal(3.5, l[3])
      known[l] = true
      verify()
    end
    assert.is_true(fired > 0, "the finalizer never ran inside gc.new_list")
    while #big > 0 do big[#big] = nil end
  end)
end)
