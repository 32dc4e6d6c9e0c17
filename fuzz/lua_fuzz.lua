-- lua_fuzz.lua -- random operation scripts through require "pygc".
-- Runs random operations on a handful of live handles, with finalizers and
-- callbacks that resurrect, raise, collect and create cycles, and checks
-- the heap after every step.  Errors are allowed only when they are the
-- clear errors the contract names; anything else fails the run.
--   lua5.4 fuzz/lua_fuzz.lua [seconds] [seed]
if not os.getenv("LUA_CPATH") then package.cpath = "./?.so;" .. package.cpath end
local gc = require "pygc"
if not os.getenv("LUA_PATH") then package.path = "./binding/?.lua;" .. package.path end
local weakref = require "pygc.weakref"

local seconds = tonumber(arg[1]) or 5
local seed = tonumber(arg[2]) or os.time()
math.randomseed(seed)
local R = math.random

local allowed = {
  "list assignment index out of range", "list indices must be integers", "tuple is immutable",
  "unhashable type", "NaN cannot be a dict key", "changed size during iteration", "keys changed during iteration",
  "use of a released handle", "has no len", "not callable", "attribute name must be string",
  "cannot store a", "nil cannot be a dict key", "invalid generation", "bad argument",
  "cannot set attributes", "is not iterable", "fuzz:", "cannot switch collectors during a collection",
  "cannot create weak reference", "weakly-referenced object no longer exists", "takes no arguments",
}

local function ok_error(e)
  e = tostring(e)
  for _, a in ipairs(allowed) do if e:find(a, 1, true) then return true end end
  return false
end

local slots = {}
local NS = 8
local keeper = gc.new_list()
local mode = { fin = 0, cb = 0 }

local Plain = gc.class("Plain")
local Fin = gc.class("Fin", { __del = function(self)
  local m = mode.fin % 6
  if m == 1 then keeper[#keeper + 1] = self
  elseif m == 2 then error("fuzz: finalizer raises")
  elseif m == 3 then gc.collect()
  elseif m == 4 then local l = gc.new_list(); l[1] = l
  elseif m == 5 then self.again = self end
end })
local Legacy = gc.class("Legacy", { legacy = true })
local classes = { Plain, Fin, Legacy }

gc.unraisablehook = function() end

local function value()
  local k = R(1, 9)
  if k == 1 then return gc.None elseif k == 2 then return R(-1000, 1000)
  elseif k == 3 then return R() * 100 elseif k == 4 then return R(2) == 1
  elseif k == 5 then return ("s"):rep(R(0, 70))
  else return slots[R(NS)] or R(5) end
end

local ops = {
  function(i) slots[i] = gc.new_list{ value(), value() } end,
  function(i) slots[i] = gc.new_dict{ k = value() } end,
  function(i) slots[i] = gc.new_tuple{ value(), value() } end,
  function(i) slots[i] = classes[R(3)]{ a = value() } end,
  function(i) local o = slots[i]; if o then o[R(0, 4)] = value() end end,
  function(i) local o = slots[i]; if o then o[value()] = value() end end,
  function(i) local o = slots[i]; if o then o[R(0, 4)] = nil end end,
  function(i) local o = slots[i]; if o then o.a = value() end end,
  function(i) local o = slots[i]; if o then o.b = slots[R(NS)] end end,
  function(i) if slots[i] then gc.release(slots[i]) end end,
  function(i) slots[i] = nil end,
  function() collectgarbage("step", R(0, 64)) end,
  function() gc.collect(R(0, 2)) end,
  function() if R(4) == 1 then gc.freeze() else gc.unfreeze() end end,
  function() gc.set_debug(R(2) == 1 and gc.DEBUG_SAVEALL or 0) end,
  function() gc.set_threshold(R(0, 30), R(1, 5), R(1, 5)) end,
  function() while #gc.garbage > 0 do gc.garbage[#gc.garbage] = nil end end,
  function(i) local o = slots[i]; if o then local _ = tostring(o) end end,
  function(i) local o = slots[i]; if o then gc.get_referrers(o); gc.get_referents(o) end end,
  function() mode.fin = R(0, 5); mode.cb = R(0, 4) end,
  function(i)
    local o = slots[i]
    if o and gc.type(o) == "dict" then for k in pairs(o) do o[k] = nil end end
  end,
  function(i)
    local o = slots[i]
    if o and (gc.type(o) == "list" or gc.type(o) == "tuple") then for _, v in ipairs(o) do local _ = v end end
  end,
  function()
    local m = mode.cb % 5
    if m == 0 then gc.callbacks = {}
    elseif m == 1 then gc.callbacks[#gc.callbacks + 1] = function() error("fuzz: callback raises") end
    elseif m == 2 then gc.callbacks[#gc.callbacks + 1] = function() gc.collect() end
    elseif m == 3 then gc.callbacks[#gc.callbacks + 1] = function() table.remove(gc.callbacks, 1); pcall(gc.set_mode, "incremental") end
    else gc.callbacks[#gc.callbacks + 1] = function() local d = gc.new_dict(); d.me = d end end
  end,
  function(i)
    local co = coroutine.wrap(function(o) coroutine.yield(o); return o end)
    co(slots[i]); slots[(i % NS) + 1] = co()
  end,
  function(i) local o = slots[i]; if o then gc.refcount(o); gc.sizeof(o); gc.is_tracked(o); gc.type(o) end end,
  function() gc.set_mode(R(2) == 1 and "incremental" or "generational") end,
  -- weak references: made with callbacks that raise, collect, allocate or
  -- make more weakrefs, stored in containers, called and dropped
  function(i)
    local o = slots[i]
    local m = R(0, 4)
    local cb = m == 0 and nil or function(w)
      if m == 1 then error("fuzz: weakref callback raises")
      elseif m == 2 then gc.collect()
      elseif m == 3 then local l = gc.new_list(); l[1] = l; l[2] = w
      else slots[R(NS)] = weakref.ref(keeper, function() end) end
    end
    slots[(i % NS) + 1] = (R(2) == 1 and weakref.ref or weakref.proxy)(o, cb)
  end,
  function(i) local o = slots[i]; if o and gc.type(o) == "weakref" then slots[(i % NS) + 1] = o() end end,
  function(i) local o = slots[i]; if o and gc.type(o) == "weakproxy" then local _ = o.a; o.b = value() end end,
  function(i) local o = slots[i]; if o then weakref.getweakrefcount(o); weakref.getweakrefs(o) end end,
}

local start, n, errors = os.clock(), 0, 0
while os.clock() - start < seconds do
  local op = ops[R(#ops)]
  local ok, e = pcall(op, R(NS))
  if not ok then
    errors = errors + 1
    if not ok_error(e) then
      io.stderr:write(("lua_fuzz: unexpected error (seed %d, op %d): %s\n"):format(seed, n, tostring(e)))
      os.exit(1)
    end
  end
  local good, msg = gc._verify()
  if not good then
    io.stderr:write(("lua_fuzz: heap verification failed (seed %d, op %d): %s\n"):format(seed, n, msg))
    os.exit(1)
  end
  n = n + 1
end
gc.callbacks = {}
gc.set_debug(0)
gc.unfreeze()
print(("lua_fuzz: %d operations (%d clean errors) in %.1f s, seed %d, heap verified after each"):format(
  n, errors, os.clock() - start, seed))
