-- A leak hunt with pygc's toolbox, end to end: a request handler leaks
-- sessions; show_growth notices, tracemalloc says where they were made,
-- why_alive says which Lua value holds them, show_backrefs draws it (PNG
-- with Graphviz's dot when it is installed), and the fix is verified.
package.path = "./binding/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local gc = require "pygc"
local util = require "pygc.util"
local objgraph = require "pygc.objgraph"
local tracemalloc = require "pygc.tracemalloc"

local Session = gc.class("Session")
local Socket = gc.class("Socket")

-- the application: handle() should leave nothing behind...
app = { cache = { users = gc.new_list() } }
local function open_session(user)
  local s = Session{ user = user, conn = Socket{ fd = #user } }
  s.conn.owner = s                       -- a back-link: sessions are cycles
  return s
end
local function handle(user)
  local s = open_session(user)
  if user:match("admin") then app.cache.users[#app.cache.users + 1] = s end -- ...but admins stay cached
  gc.release(s)
end

util.force_collect()
objgraph.show_growth(nil, false)         -- baseline
tracemalloc.start(4)
local before = tracemalloc.take_snapshot()
local stats = util.GCStatsCollector.install()
for i = 1, 300 do handle(i % 10 == 0 and ("admin" .. i) or ("user" .. i)) end
util.force_collect()
stats:uninstall()

print("1. what grew (objgraph.show_growth):")
objgraph.show_growth(5)
print("   collector: " .. stats:report().text)

print("2. where the survivors were made (tracemalloc, by line):")
local after = tracemalloc.take_snapshot()
for i, d in ipairs(after:compare_to(before, "lineno")) do
  if i > 3 then break end
  print("   " .. tostring(d))
end

print("3. why is one alive (util.why_alive):")
local leaked = objgraph.by_type("Socket")[1]
print("   " .. util.why_alive(leaked))

print("4. who refers to it (objgraph.show_backrefs -> build/leak.dot)")
os.execute("mkdir -p build")
local _, info = objgraph.show_backrefs(leaked, { max_depth = 3, filename = "build/leak.dot" })
print(("   %d nodes, %d edges; cycles are drawn in red"):format(info.nodes, info.edges))
if os.execute("command -v dot >/dev/null 2>&1") then
  os.execute("dot -Tpng build/leak.dot -o build/leak.png")
  print("   rendered build/leak.png")
end
leaked = nil

print("5. the fix: drop the cache; everything goes")
app.cache.users = nil
collectgarbage(); collectgarbage()
local freed = util.force_collect()
tracemalloc.stop()
print(("   gc.collect() freed %d objects; Sessions left: %d, Sockets left: %d"):format(
  freed, objgraph.count("Session"), objgraph.count("Socket")))
assert(objgraph.count("Session") == 0 and objgraph.count("Socket") == 0)
