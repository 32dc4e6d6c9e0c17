-- A real use: a scene graph whose nodes keep parent back-links (cycles)
-- and own native-like resources released in __del.  Shows the generational
-- collector doing its job while a program churns through scenes, the
-- effect of the thresholds, and gc.freeze() for a long-lived asset cache.
package.path = "./binding/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local gc = require "pygc"
local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1")

local live_textures = 0
local Texture = gc.class("Texture", {
  __init = function(self, name) self.name = name; live_textures = live_textures + 1 end,
  __del = function() live_textures = live_textures - 1 end,
})
local SceneNode = gc.class("SceneNode", {
  add = function(self, child)
    child.parent = self                 -- back-link: a reference cycle
    self.children[#self.children + 1] = child
    return child
  end,
})

local function new_node(name) return SceneNode{ name = name, children = gc.new_list() } end

-- assets loaded once and kept for the whole program: freeze them so that
-- no collection ever scans them again
local assets = gc.new_dict()
for i = 1, 50 do assets["tex" .. i] = Texture("tex" .. i) end
gc.collect()
gc.freeze()
print(("frozen assets: %d objects in the permanent generation"):format(gc.get_freeze_count()))

local function build_scene(i)
  local root <close> = new_node("scene" .. i)
  for j = 1, 20 do
    local n = root:add(new_node("node" .. j))
    n.texture = Texture("tmp" .. j)      -- per-scene resource
    n.shared = assets["tex" .. (j % 50 + 1)]
  end
end -- root's handle is closed: the scene is now cyclic garbage

local pauses, longest = 0, 0
gc.callbacks[1] = function(phase, info)
  if phase == "stop" then
    pauses = pauses + 1
    if info.duration > longest then longest = info.duration end
  end
end
for i = 1, math.floor(2000 * scale) + 1 do build_scene(i) end
local st = gc.get_stats()
print(("after the churn: %d collections (gen0 %d, gen1 %d, gen2 %d), longest pause %.3f ms"):format(
  pauses, st[1].collections, st[2].collections, st[3].collections, longest * 1000))
print(("temporary textures still alive before a full collection: %d"):format(live_textures - 50))
collectgarbage(); gc.collect()
print(("temporary textures alive after gc.collect(): %d"):format(live_textures - 50))
gc.callbacks = {}
gc.unfreeze()
