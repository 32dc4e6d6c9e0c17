-- pygc's flagship example: Python's object lifetimes, in Lua.
--
-- A small object graph with cycles and a finalizer is built, watched by
-- gc.callbacks while the cycle collector reclaims it, and then a leak is
-- hunted down with gc.get_referrers -- exactly as one would in Python.
package.path = "./binding/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local gc = require "pygc"

-- 1. Classes with a finalizer (Python's __del__).
local Node = gc.class("Node", {
  __del = function(self) print(("  __del: %s is finalized"):format(self.name)) end,
})

-- 2. Watch the collector: every collection reports start and stop.
gc.callbacks[#gc.callbacks + 1] = function(phase, info)
  if phase == "stop" then
    print(("  [gc] generation %d: %d collected, %d uncollectable in %.3f ms"):format(
      info.generation, info.collected, info.uncollectable, info.duration * 1000))
  end
end

print("1. reference counting frees acyclic objects at once")
do
  local tmp <close> = Node{ name = "temporary" } -- luacheck: ignore (closed at scope end)
end -- released here: __del runs now, no collection needed

print("2. a graph with cycles needs the cycle collector")
local function build_graph()
  local root = Node{ name = "root" }
  local a, b = Node{ name = "a" }, Node{ name = "b" }
  root.children = gc.new_list{a, b}
  a.parent, b.parent = root, root   -- back-links make cycles
  a.peer, b.peer = b, a
  return root
end
local root = build_graph()
print(("   the graph: %s with %d children; refcount(root) = %d"):format(
  tostring(root), #root.children, gc.refcount(root)))
root = nil
collectgarbage()                     -- Lua drops the dead handle...
print("   ...but refcounts alone cannot free a cycle; gc.collect():")
print(("   gc.collect() returned %d"):format(gc.collect()))

print("3. hunting a leak with gc.get_referrers")
local registry = gc.new_dict()       -- a long-lived registry...
local function handle_request(id)
  local session = Node{ name = "session-" .. id }
  if id == 3 then registry["debug"] = gc.new_list{session} end -- ...that leaks one
  return id
end
for id = 1, 5 do handle_request(id) end
collectgarbage(); gc.collect()
for _, obj in ipairs(gc.get_objects()) do
  if gc.type(obj) == "Node" and tostring(obj.name):match("^session") then
    print(("   still alive: %s (%s)"):format(obj.name, tostring(obj)))
    for _, holder in ipairs(gc.get_referrers(obj)) do
      print(("     held by a %s: %s"):format(gc.type(holder), tostring(holder)))
      for _, outer in ipairs(gc.get_referrers(holder)) do
        print(("       which is held by a %s: the registry, under key 'debug'"):format(gc.type(outer)))
      end
    end
  end
end
registry.debug = nil                 -- fix the leak
collectgarbage(); collectgarbage()   -- let Lua drop the handles the hunt made
print(("   after the fix, live sessions: %d"):format((function()
  local n = 0
  for _, o in ipairs(gc.get_objects()) do if gc.type(o) == "Node" then n = n + 1 end end
  return n
end)()))

local st = gc.get_stats()
print(("4. totals: %d collections of generation 2, %d objects collected"):format(st[3].collections, st[3].collected))
gc.callbacks = {}
