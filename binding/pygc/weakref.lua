--- Python's weakref module for the pygc heap.
--
--   ref(obj [, callback]), proxy(obj [, callback]): weak references, pygc
--     objects themselves (binding/weakrefs.c, lib/weakref.c);
--   getweakrefcount(obj), getweakrefs(obj);
--   WeakValueDictionary(), WeakKeyDictionary(), WeakSet(): containers whose
--     entries go with their referents (the data is a pygc dict of weakrefs);
--   finalize(obj, fn, ...): fn(...) once obj dies, or at f(), or at lua_close.
--
-- Callbacks that refer back to a container hold it weakly (a weak Lua
-- table), as CPython's containers hold themselves through a weakref: a
-- container nobody uses goes, and its callbacks then do nothing.
-- @module pygc.weakref
local gc = require "pygc"

local M = {}

--- A weak reference to obj: r() is obj, or nil once it died; callback(r)
-- runs once when it dies (not if r died first).  Without a callback, a
-- second ref(obj) is the same reference object.  Lists, dicts, instances,
-- classes and opted-in host types accept weak references; tuples and
-- strings raise `cannot create weak reference to 'tuple' object`.
-- @param obj a pygc object
-- @tparam[opt] function callback
-- @return the weakref (a pygc object, type name `weakref`)
-- @function ref

M.ref = gc._weakref_ref
--- A proxy for obj: indexing, assignment, `#`, `pairs`, calls and
-- `tostring` go to obj while it lives; after, they raise `weakly-referenced
-- object no longer exists`.
-- @param obj a pygc object
-- @tparam[opt] function callback
-- @return the proxy
-- @function proxy

M.proxy = gc._weakref_proxy
--- How many weak references and proxies refer to obj.
-- @param obj
-- @treturn integer
-- @function getweakrefcount

M.getweakrefcount = gc._weakref_count
--- The weak references and proxies that refer to obj.
-- @param obj
-- @treturn table a sequence
-- @function getweakrefs

M.getweakrefs = gc._weakref_refs
local ref, deref, remove_dead = gc._weakref_ref, gc._weakref_get, gc._weakref_remove_dead

local DATA = setmetatable({}, { __name = "pygc.weakref data key" })
local WEAK = setmetatable({}, { __name = "pygc.weakref self key" })

local function weak_self(self)
  return setmetatable({ self }, { __mode = "v" })
end

-- a snapshot of a dict's entries: callbacks may change it while we iterate
local function snapshot(data)
  local ks, vs, n = {}, {}, 0
  for k, v in pairs(data) do
    n = n + 1
    ks[n], vs[n] = k, v
  end
  return ks, vs, n
end

-- ---- WeakValueDictionary -----------------------------------------------------

local WVD = { __name = "WeakValueDictionary" }
function WVD.__index(self, k)
  local r = rawget(self, DATA)[k]
  if r == nil then return nil end
  return deref(r)
end
function WVD.__newindex(self, k, v)
  local data = rawget(self, DATA)
  if v == nil then
    data[k] = nil
    return
  end
  local ws = rawget(self, WEAK)
  data[k] = ref(v, function()
    local s = ws[1]
    if s then remove_dead(rawget(s, DATA), k) end
  end)
end
function WVD.__len(self) return #rawget(self, DATA) end
function WVD.__pairs(self)
  local ks, vs, n = snapshot(rawget(self, DATA))
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local v = deref(vs[i])
      if v ~= nil then return ks[i], v end
    end
  end, self, nil
end
function WVD.__tostring(self) return ("<WeakValueDictionary with %d entries>"):format(#self) end

--- A dictionary whose values are held weakly: an entry goes when its
-- value dies.  d[k] = v, d[k], #d, pairs(d), as a dict.
-- @tparam[opt] table init entries to start with
-- @return the dictionary
function M.WeakValueDictionary(init)
  local self = { [DATA] = gc.new_dict() }
  self[WEAK] = weak_self(self)
  setmetatable(self, WVD)
  if init then for k, v in pairs(init) do self[k] = v end end
  return self
end

-- ---- WeakKeyDictionary ---------------------------------------------------------

local WKD = { __name = "WeakKeyDictionary" }
function WKD.__index(self, k)
  local ok, r = pcall(ref, k)
  if not ok then return nil end -- no weakref to it: it cannot be a key
  return rawget(self, DATA)[r]
end
function WKD.__newindex(self, k, v)
  local data = rawget(self, DATA)
  if v == nil then
    local ok, r = pcall(ref, k)
    if ok then data[r] = nil end
    return
  end
  local ws = rawget(self, WEAK)
  data[ref(k, function(wr)
    local s = ws[1]
    if s then rawget(s, DATA)[wr] = nil end
  end)] = v
end
function WKD.__len(self) return #rawget(self, DATA) end
function WKD.__pairs(self)
  local ks, vs, n = snapshot(rawget(self, DATA))
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local k = deref(ks[i])
      if k ~= nil then return k, vs[i] end
    end
  end, self, nil
end
function WKD.__tostring(self) return ("<WeakKeyDictionary with %d entries>"):format(#self) end

--- A dictionary whose keys are held weakly: an entry goes when its key
-- dies.  d[k] = v, d[k], #d, pairs(d), as a dict.
-- @tparam[opt] table init entries to start with
-- @return the dictionary
function M.WeakKeyDictionary(init)
  local self = { [DATA] = gc.new_dict() }
  self[WEAK] = weak_self(self)
  setmetatable(self, WKD)
  if init then for k, v in pairs(init) do self[k] = v end end
  return self
end

-- ---- WeakSet ---------------------------------------------------------------------

local WeakSet = {}
WeakSet.__name = "WeakSet"
local WS_methods = {}
WeakSet.__index = WS_methods
function WS_methods.add(self, x)
  local data = rawget(self, DATA)
  local ws = rawget(self, WEAK)
  data[ref(x, function(wr)
    local s = ws[1]
    if s then rawget(s, DATA)[wr] = nil end
  end)] = true
end
function WS_methods.discard(self, x)
  local ok, r = pcall(ref, x)
  if ok then rawget(self, DATA)[r] = nil end
end
function WS_methods.contains(self, x)
  local ok, r = pcall(ref, x)
  return ok and rawget(self, DATA)[r] ~= nil
end
WS_methods.remove = function(self, x)
  if not WS_methods.contains(self, x) then error("KeyError: " .. tostring(x), 2) end
  WS_methods.discard(self, x)
end
function WeakSet.__len(self) return #rawget(self, DATA) end
function WeakSet.__pairs(self)
  local ks, _, n = snapshot(rawget(self, DATA))
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local x = deref(ks[i])
      if x ~= nil then return x, true end
    end
  end, self, nil
end
function WeakSet.__newindex() error("WeakSet: use s:add(x) and s:discard(x)", 2) end
function WeakSet.__tostring(self) return ("<WeakSet with %d members>"):format(#self) end

--- A set of objects held weakly: s:add(x), s:discard(x), s:contains(x),
-- #s, pairs(s) over live members.
-- @tparam[opt] table init members to start with
-- @return the set
function M.WeakSet(init)
  local self = { [DATA] = gc.new_dict() }
  rawset(self, WEAK, weak_self(self))
  setmetatable(self, WeakSet)
  if init then for _, x in ipairs(init) do self:add(x) end end
  return self
end

-- ---- finalize ------------------------------------------------------------------------
-- CPython's design: a registry keeps every live finalizer (and so its
-- weakref, whose callback calls it); calling it removes it first, so fn
-- runs at most once.  At lua_close the live ones with atexit set run,
-- newest first, before the heap goes (a sentinel made after the newest
-- finalizer is finalized by Lua before anything older).

local registry = {}   -- finalize object -> info, while alive
local order = 0
local F = { __name = "finalize" }
local F_methods = {}

function F.__index(self, k)
  if k == "alive" then return registry[self] ~= nil end
  if k == "atexit" then
    local info = registry[self]
    if info then return info.atexit end
    return rawget(self, "__atexit") ~= false
  end
  return F_methods[k]
end
function F.__newindex(self, k, v)
  if k == "atexit" then
    local info = registry[self]
    if info then info.atexit = not not v end
    rawset(self, "__atexit", not not v)
    return
  end
  error("finalize: cannot set '" .. tostring(k) .. "'", 2)
end

local shutdown = false
function F.__call(self)
  local info = registry[self]
  if info == nil then return nil end
  registry[self] = nil
  info.wr = nil
  if shutdown then return nil end
  return info.fn(table.unpack(info.args, 1, info.args.n))
end

local function info_tuple(info, obj)
  return obj, info.fn, table.unpack(info.args, 1, info.args.n)
end

function F_methods.detach(self)
  local info = registry[self]
  local obj = info and deref(info.wr)
  if obj == nil then return nil end
  registry[self] = nil
  info.wr = nil
  return info_tuple(info, obj)
end

function F_methods.peek(self)
  local info = registry[self]
  local obj = info and deref(info.wr)
  if obj == nil then return nil end
  return info_tuple(info, obj)
end

function F.__tostring(self)
  local info = registry[self]
  if info == nil then return "<finalize object; dead>" end
  local obj = deref(info.wr)
  return ("<finalize object; for %s>"):format(obj ~= nil and gc.type(obj) or "?")
end

local sentinel
local function at_close()
  -- the live finalizers with atexit, newest first (CPython's order)
  local live = {}
  for f, info in pairs(registry) do
    if info.atexit then live[#live + 1] = { f = f, i = info.index } end
  end
  table.sort(live, function(a, b) return a.i > b.i end)
  for _, e in ipairs(live) do
    local ok, err = pcall(e.f)
    if not ok then
      local hook = gc.unraisablehook
      if hook then pcall(hook, err, "atexit callback of finalize", nil) end
    end
  end
  shutdown = true -- as CPython: no finalizer runs after this
end

local function new_sentinel()
  local s = setmetatable({}, { __gc = function(me)
    if me == sentinel then at_close() end
  end })
  sentinel = s
end

--- Call fn(...) once obj dies, or at f(), or at lua_close while
-- f.atexit (default true); at most once.  f.alive, f:detach() and f:peek()
-- (obj, fn, args... while alive; nil after) as Python's.
-- @param obj
-- @tparam function fn
-- @param ... arguments for fn
-- @return the finalizer f
function M.finalize(obj, fn, ...)
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    error(("bad argument #2 to 'finalize' (callable expected, got %s)"):format(type(fn)), 2)
  end
  local self = setmetatable({}, F)
  order = order + 1
  local info = { fn = fn, args = table.pack(...), atexit = true, index = order }
  -- the callback holds self: self lives while its weakref may fire
  local ok, r = pcall(ref, obj, function() self() end)
  if not ok then error(r, 2) end
  info.wr = r
  registry[self] = info
  new_sentinel()
  return self
end

M._registry = registry
return M
