-- Regressions found by fuzz/cross_model.lua (the randomized model test of
-- one graph across both heaps), each the smallest program that showed it.
local support = require "spec.support"
local gc = support.gc
local verify = support.verify

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
