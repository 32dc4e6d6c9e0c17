-- The pygc side of the cross-heap scenarios (cross_scenarios.py): the same
-- cycles built with Lua closures, tables and coroutines around pygc
-- objects, collected by one gc.collect() of both heaps.  Same conventions
-- as scenarios.lua.  Run: lua5.4 cross_scenarios.lua NAME
local gc = require "pygc"

local P = require("spec.conformance.prelude").new()
local out, scenario = P.out, P.scenario

-- gc.collect() from Lua is one collection of both heaps: no Lua
-- collection first (that is what these scenarios test)
local collect = gc.collect

local dels = {}
local Node = gc.class("Node", { __del = function(self) dels[#dels + 1] = self.name end })
local function hello(self) return "hello " .. self.name end

local function dels_line()
  local t = { table.unpack(dels) }
  table.sort(t)
  return #t > 0 and table.concat(t, ",") or "-"
end

-- a weak reference to a heap object, by its id (a handle kept in a weak
-- table would be a reference Lua may still hold)
local function alive(id)
  for _, o in ipairs(gc.get_objects()) do
    if type(o) == "userdata" and gc.id(o) == id then return true end
  end
  return false
end

-- Python counts the function objects, cells, dicts and frames of a cycle;
-- pygc counts the instance and one lref per Lua value it holds.  The
-- runner accepts `lua` where python printed `py`, and only there.
local COUNTS = "the objects counted differ: CPython counts the instance's function, cell, dict and frame objects, pygc the instance and one lref per Lua value it holds (API.md section 2)"
local DIVERGE = {
  closure_cell_cycle = { { py = "collect 4", lua = "collect 2", why = COUNTS } },
  callbacks_dict_owner = { { py = "collect 7", lua = "collect 4", why = COUNTS } },
  lambda_default_argument = { { py = "collect 3", lua = "collect 2", why = COUNTS } },
  reachable_closure_cycle_survives = { { py = "collect after drop 4", lua = "collect after drop 2", why = COUNTS } },
  finalizer_calls_its_callback = { { py = "collect 4", lua = "collect 2", why = COUNTS } },
  resurrection_through_closure = {
    { py = "call I am phoenix", lua = "call released handle",
      why = "API.md section 3 and issue 14: Lua finalized the closure's upvalue handle with the rest of the cycle, so a resurrected object's own closure holds a released handle; CPython's cell keeps the object" },
    { py = "collect after drop 4", lua = "collect after drop 2", why = COUNTS },
  },
  two_owners_share_callbacks = { { py = "collect 8", lua = "collect 4", why = COUNTS } },
  generator_holding_owner = { { py = "collect 0", lua = "collect 2",
    why = "CPython 3.11's generator finalizer closes the generator, which frees the cycle by refcount before the collector clears anything, so it counts 0; a Lua coroutine has no finalizer: pygc collects the instance and the coroutine's lref" } },
}

scenario("closure_cell_cycle", function()
  local id
  do
    local n = Node { name = "n" }
    n.greet = function() return "hi " .. n.name end -- the upvalue is n's handle
    out("call", n.greet())
    id = gc.id(n)
  end
  out("collect", collect())
  out("dels", dels_line())
  out("alive", alive(id))
  out("collect again", collect())
end)

scenario("bound_method_on_own_instance", function()
  -- Lua has no bound methods: a closure over the instance and the method
  local id
  do
    local a = Node { name = "a" }
    a.cb = function() return hello(a) end
    out("call", a.cb())
    id = gc.id(a)
  end
  out("collect", collect())
  out("dels", dels_line())
  out("alive", alive(id))
end)

scenario("callbacks_dict_owner", function()
  local id
  do
    local owner = Node { name = "owner", count = 0 }
    owner.callbacks = gc.new_dict {
      click = function() owner.count = owner.count + 1; return owner.count end,
      name = function() return owner.name end,
    }
    out("click", owner.callbacks.click(), owner.callbacks.click())
    out("name", owner.callbacks.name())
    id = gc.id(owner)
  end
  out("collect", collect())
  out("dels", dels_line())
  out("alive", alive(id))
end)

scenario("lambda_default_argument", function()
  -- a default argument is a value captured when the function is made:
  -- in Lua, an upvalue bound to the instance at that moment
  local id
  do
    local a = Node { name = "a" }
    local me = a
    a.get = function(x) x = x or me; return x.name end
    out("call", a.get())
    id = gc.id(a)
  end
  out("collect", collect())
  out("dels", dels_line())
  out("alive", alive(id))
end)

scenario("generator_holding_owner", function()
  local id
  do
    local a = Node { name = "a" }
    a.it = coroutine.wrap(function(owner)
      while true do coroutine.yield(owner.name) end
    end)
    out("next", a.it(a)) -- the coroutine's stack holds a's handle now
    id = gc.id(a)
  end
  out("collect", collect())
  out("dels", dels_line())
  out("alive", alive(id))
end)

scenario("reachable_closure_cycle_survives", function()
  local keep = gc.new_list()
  do
    local n = Node { name = "kept" }
    n.greet = function() return "hi " .. n.name end
    keep[1] = n
  end
  out("collect", collect())
  out("dels", dels_line())
  out("call", keep[1].greet())
  keep[1] = nil
  out("collect after drop", collect())
  out("dels", dels_line())
end)

scenario("finalizer_calls_its_callback", function()
  local seen = {}
  local Widget = gc.class("Widget", { __del = function(self) seen[#seen + 1] = self.on_close() end })
  do
    local w = Widget { title = "main" }
    w.on_close = function() return "closing " .. w.title end
  end
  out("collect", collect())
  out("seen", table.concat(seen, ","))
end)

scenario("resurrection_through_closure", function()
  local saved = gc.new_list()
  local Phoenix = gc.class("Phoenix", { __del = function(self) saved[#saved + 1] = self end })
  do
    local p = Phoenix { name = "phoenix" }
    p.say = function() return "I am " .. p.name end
  end
  out("collect", collect())
  out("saved", #saved)
  local ok, r = pcall(saved[1].say)
  out("call", ok and r or (tostring(r):find("released handle", 1, true) and "released handle" or r))
  saved[1] = nil
  out("collect after drop", collect())
  out("saved", #saved)
end)

scenario("two_owners_share_callbacks", function()
  do
    local a, b = Node { name = "a" }, Node { name = "b" }
    a.peer_name = function() return b.name end
    b.peer_name = function() return a.name end
    out("calls", a.peer_name(), b.peer_name())
  end
  out("collect", collect())
  out("dels", dels_line())
end)

return P.main("cross_scenarios", DIVERGE, nil)
