-- owner_extras.lua -- second owning handles in bulk (binding/handles.c, B->extra).
--
-- A Lua finalizer that reads a large structure whose handles are all
-- waiting for their own __gc makes a second owning handle per object; the
-- heap counts the extra ones.  Prints the time of the Lua collection that
-- runs that finalizer and the dying handles' __gc, for N and 4N objects:
-- the ratio should be about 4 (it was about 16 when the extras were a
-- linearly searched array: 80,000 objects took 4.7 s).
--   lua5.4 bench/owner_extras.lua [N]
if not os.getenv("LUA_CPATH") then package.cpath = "./?.so;" .. package.cpath end
local gc = require "pygc"

local function run(n)
  local list = gc.new_list()
  for i = 1, n do list[i] = gc.new_dict() end
  collectgarbage(); collectgarbage()
  local keep = {}
  do
    local hs = {}
    for i = 1, n do hs[i] = list[i] end -- n handles, garbage below
    assert(#hs == n)
    setmetatable({}, { __gc = function() for i = 1, n do keep[i] = list[i] end end }) -- newest: runs first
  end
  local t0 = os.clock()
  collectgarbage(); collectgarbage()
  local t = os.clock() - t0
  assert(#keep == n and gc.refcount(keep[1]) == 2)
  for i = 1, n do keep[i] = nil end
  collectgarbage(); collectgarbage()
  assert(gc._verify())
  return t
end

local N = tonumber(arg and arg[1]) or 20000
local a, b = run(N), run(4 * N)
print(("owner extras: %d objects %.3f s, %d objects %.3f s, ratio %.1f (linear: about 4)"):format(N, a, 4 * N, b, b / a))
