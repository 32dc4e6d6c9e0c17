-- Run by build/scene_host (tools/run_tests.sh): a C host type written
-- luacheck: globals HOLD
-- against pygc.h, seen by every introspection function and toolkit
-- function through its one traverse.
package.path = "./binding/?.lua;./binding/?/init.lua;" .. package.path
local gc = require "pygc"
local scene = require "scene"
local util = require "pygc.util"
local objgraph = require "pygc.objgraph"

local root = scene.node("root")
local child = root:add(scene.node("child"))
local leaf = child:add(scene.node("leaf"))

-- the core's edges
local ch, lab = gc._edges(child)
assert(rawequal(ch[1], root) and lab[1] == ".parent", "gc._edges misses the parent slot: " .. tostring(lab[1]))
assert(gc.type(ch[2]) == "list" and lab[2] == ".children", "gc._edges misses the children slot")
assert(rawequal(ch[2][1], leaf))
-- introspection
local refs = {}
for _, r in ipairs(gc.get_referents(child)) do refs[r] = true end
assert(refs[root], "get_referents misses a host slot")
local back = {}
for _, r in ipairs(gc.get_referrers(leaf)) do back[r] = true end
assert(back[ch[2]], "get_referrers misses the host object's list")
local up = {}
for _, r in ipairs(gc.get_referrers(root)) do up[r] = true end
assert(up[child], "get_referrers misses a host object")
-- the toolkit
assert(util.has_cycle(child), "has_cycle: a host-type ring is a cycle")
HOLD = { scene = root }
local chain = util.why_alive(leaf)
assert(chain and chain:find("<SceneNode>.children -> <list>[1] -> <SceneNode>", 1, true), "why_alive: " .. tostring(chain))
assert(#util.ref_chain(root, 3) > 1, "ref_chain sees no host children")
local dot = objgraph.show_refs({ root }, { max_depth = 3 })
assert(type(dot) == "string" and dot:find("SceneNode", 1, true), "show_refs draws no host objects")
HOLD = nil
root, child, leaf, ch, lab, refs, back, up = nil, nil, nil, nil, nil, nil, nil, nil
collectgarbage()
assert(gc.collect() >= 3)
assert(gc._verify())
print("toolkit_host: a host type is seen by gc._edges, get_referents, get_referrers, has_cycle, why_alive, ref_chain, show_refs")
