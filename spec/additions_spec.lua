-- API.md section 5: pygc's own additions, and life at lua_close.
local S = require "spec.support"
local gc = S.gc

describe("pygc's additions", function()
  before_each(S.reset)
  after_each(S.verify)

  it("refcount counts handles and container references", function()
    local l = gc.new_list()
    assert.are.equal(1, gc.refcount(l))
    local a, b = gc.new_list{l, l}, gc.new_dict{x = l}
    assert.are.equal(4, gc.refcount(l))
    gc.release(a, b)
    assert.are.equal(1, gc.refcount(l))
  end)

  it("sizeof reports bytes, growing with content", function()
    local l = gc.new_list()
    local empty = gc.sizeof(l)
    assert.is_true(empty >= 40)
    for i = 1, 100 do l[i] = i end
    assert.is_true(gc.sizeof(l) >= empty + 100 * 16)
    local d = gc.new_dict()
    local de = gc.sizeof(d)
    d.a = 1
    assert.is_true(gc.sizeof(d) > de)
  end)

  it("heap_info reports objects, tracked, bytes, peak, frozen and generations", function()
    local info = gc.heap_info()
    for _, k in ipairs { "objects", "tracked", "bytes", "peak_bytes", "frozen" } do
      assert.is_true(math.type(info[k]) == "integer", k)
    end
    assert.are.equal(3, #info.generations)
    assert.is_true(info.peak_bytes >= info.bytes)
    local keep = {}
    for i = 1, 100 do keep[i] = gc.new_list() end
    local after = gc.heap_info()
    assert.are.equal(info.objects + 100, after.objects)
    assert.are.equal(info.tracked + 100, after.tracked)
    assert.is_true(after.bytes > info.bytes)
    assert.are.equal(after.tracked, after.generations[1] + after.generations[2] + after.generations[3] + after.frozen)
    assert.are.equal(after.generations.gen0, after.generations[1])
  end)

  it("unraisablehook receives err, what and the object", function()
    local C = gc.class("Node", { __del = function() error("bad") end })
    local seen
    gc.unraisablehook = function(err, what, obj) seen = { err = err, what = what, type = obj and gc.type(obj) } end
    gc.release(C())
    gc.unraisablehook = S.default_hook
    assert.matches("bad", seen.err)
    assert.are.equal("finalizer of Node", seen.what)
    assert.are.equal("Node", seen.type)
  end)

  it("an unraisablehook that fails falls back to a warning", function()
    local out = S.run_lua([[
      local gc = require "pygc"
      gc.unraisablehook = function() error("hook broke") end
      local C = gc.class("C", { __del = function() error("first") end })
      gc.release(C())
      print("ok")
    ]])
    assert.matches("hook broke", out)
    assert.matches("first", out)
    assert.matches("ok", out)
  end)

  it("set_mode and get_mode", function()
    assert.are.equal("generational", gc.get_mode())
    assert.has_no.errors(function() gc.set_mode("generational") end)
    gc.set_mode("incremental")
    assert.are.equal("incremental", gc.get_mode())
    gc.set_mode("generational")
    assert.has_error(function() gc.set_mode("other") end, "bad argument #1 to 'set_mode' (invalid option 'other')")
    assert.are.equal("generational", gc.get_mode())
    local inside
    gc.callbacks[1] = function() inside = select(2, pcall(gc.set_mode, "incremental")) end
    gc.collect()
    gc.callbacks = {}
    assert.matches("cannot switch collectors during a collection", inside)
    assert.are.equal("generational", gc.get_mode())
  end)

  it("release takes several handles and refuses other values", function()
    local a, b = gc.new_list(), gc.new_list()
    gc.release(a, b)
    assert.has_error(function() return #a end, "pygc: use of a released handle")
    assert.has_error(function() gc.release({}) end)
  end)
end)

describe("deep structures", function()
  before_each(S.reset)
  after_each(S.verify)

  it("release a chain a million deep without growing the C stack", function()
    local n = S.n(1000000)
    gc.disable()
    local Node = gc.class("Node")
    local h = gc.None
    for _ = 1, n do
      local x = Node()
      x.next = h
      if h ~= gc.None then gc.release(h) end
      h = x
    end
    local before = gc.heap_info().objects
    assert.are.equal(0, gc.collect()) -- the collector walks it without recursing
    gc.release(h)
    -- the chain's nodes; the attribute name stays, in the names Node's
    -- instances share (CPython's classes keep their shared keys too)
    assert.are.equal(before - n, gc.heap_info().objects)
    gc.enable()
  end)
end)

describe("Lua's collector is paced by pygc's allocation", function()
  before_each(S.reset)
  after_each(S.verify)

  it("keeps both heaps bounded when 10^6 objects are dropped without release", function()
    local n = S.n(1000000)
    local Node = gc.class("Node")
    local peak_lua, peak_objects = 0, 0
    for i = 1, n do
      local a = Node()
      a.other = gc.new_list{a, i}
      if i % 10000 == 0 then
        peak_lua = math.max(peak_lua, collectgarbage("count"))
        peak_objects = math.max(peak_objects, gc.heap_info().objects)
      end
    end
    -- 2 x 10^6 objects would be over 100 MB; bounded means a small fraction
    assert.is_true(peak_objects < 400000, "pygc objects peaked at " .. peak_objects)
    assert.is_true(peak_lua < 64 * 1024, "Lua heap peaked at " .. peak_lua .. " KB")
  end)
end)

describe("lua_close", function()
  it("releases handles, runs pending finalizers, collects cycles, frees everything", function()
    local out, ok = S.run_lua([[
      local gc = require "pygc"
      local C = gc.class("C", { __del = function(self) io.write("del ", tostring(self.name), "\n") end })
      local a, b = C{ name = "a" }, C{ name = "b" }
      a.other = b; b.other = a          -- a live cycle, held by handles
      local c = C{ name = "c" }         -- held only by a handle
      local d = C{ name = "d" }; d.me = d; gc.release(d) -- garbage not yet collected
      gc.disable()
      print("closing")
    ]])
    assert.is_true(ok, out)
    assert.matches("closing", out)
    for _, name in ipairs { "a", "b", "c", "d" } do assert.matches("del " .. name, out) end
  end)

  it("works with two states in two threads is left to the C tests; two states in one process here", function()
    local out, ok = S.run_lua([[
      local gc = require "pygc"
      local co = coroutine.wrap(function() return gc.new_list{1} end)
      local l = co()
      print(#l)
    ]])
    assert.is_true(ok, out)
    assert.matches("1", out)
  end)
end)
