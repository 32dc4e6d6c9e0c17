-- Run by examples/host/scene.c: the script builds scenes out of the C
-- host's SceneNode type; parent back-links make every scene a cycle.
local gc = require "pygc"
local scene = require "scene"
local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1")

local function build(i)
  local root <close> = scene.node("scene" .. i)
  for j = 1, 10 do
    local child = root:add(scene.node("node" .. j))
    child:add(scene.node("leaf" .. j))
  end
  assert(root:children()[1]:parent() == root)
end

local scenes = math.floor(500 * scale) + 1
gc.disable()
for i = 1, scenes do build(i) end
collectgarbage()
local alive = scene.stats()
print(("script: %d scenes built and dropped; %d SceneNodes alive (cycles: refcounting alone cannot free them)"):format(scenes, alive))
print(("script: gc.type = %s, tostring = %s"):format(gc.type(scene.node("probe")), tostring(scene.node("probe")):gsub("0x%x+", "0x...")))
collectgarbage()
local n = gc.collect()
local alive_after, finalized = scene.stats()
print(("script: gc.collect() = %d; %d SceneNodes alive, %d finalized"):format(n, alive_after, finalized))
assert(alive_after == 0, "the collector left scenes behind")
assert(gc._verify())
