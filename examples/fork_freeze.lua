-- freeze_before_fork(): after os.fork() the child shares the parent's
-- pages until it writes to them.  A full collection in the child writes to
-- every object it scans (gc_refs, flags), so every page of the heap gets
-- copied -- unless the parent froze the heap first: the permanent
-- generation is never scanned.  This measures the child's private dirty
-- memory (/proc/self/smaps_rollup) after one gc.collect(), both ways.
package.path = "./binding/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local gc = require "pygc"
local util = require "pygc.util"
-- lua-posix when it is built for this Lua; Debian 12 ships it for 5.1-5.3
-- only, so the project's own posixlite (make builds it) stands in
local ok, unistd = pcall(require, "posix.unistd")
local wait
if ok then
  wait = require "posix.sys.wait"
else
  package.cpath = "./build/?.so;" .. package.cpath
  unistd = require "posixlite"
  wait = unistd
end

local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1")
local N = math.floor(200000 * scale) + 100

local function private_dirty_kb()
  local f = io.open("/proc/self/smaps_rollup")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("Private_Dirty:%s+(%d+) kB"))
end

-- a long-lived structure, as a pre-forking server would load before fork
local Node = gc.class("Node")
local root = gc.new_list()
for i = 1, N do
  local n = Node()
  n.id = i
  n.peers = gc.new_list{ i, "x" }
  root[i] = n
  gc.release(n)
end

local function child_cost(freeze)
  if freeze then util.freeze_before_fork() else util.force_collect() end
  collectgarbage("collect")
  io.stdout:flush()
  local r, w = unistd.pipe()
  local pid = unistd.fork()
  if pid == 0 then
    unistd.close(r)
    collectgarbage("stop") -- measure pygc's writes, not Lua's
    local before = private_dirty_kb() or 0
    gc.collect()
    local after = private_dirty_kb() or 0
    unistd.write(w, tostring(after - before))
    unistd.close(w)
    unistd._exit(0)
  end
  unistd.close(w)
  local text = unistd.read(r, 64)
  unistd.close(r)
  wait.wait(pid)
  if freeze then gc.unfreeze(); gc.enable() end
  return tonumber(text)
end

local heap_mb = gc.heap_info().bytes / 1048576
local without = child_cost(false)
local with = child_cost(true)
print(("heap: %d objects, %.1f MB"):format(gc.heap_info().objects, heap_mb))
print(("child's private dirty memory after one gc.collect(): %d kB without freeze, %d kB with freeze_before_fork()")
  :format(without, with))
assert(with < without, "freezing should keep the child's collection off the parent's pages")
