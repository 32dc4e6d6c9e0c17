-- See the heap: a request handler that leaks, recorded by pygc.monitor and
-- drawn as one HTML file (heap over time, the types that grew, why one of
-- them is alive, pauses, where they were made, the collector's settings).
--   lua5.4 examples/leak_report.lua [report.html]    (default build/leak_report.html)
package.path = "./binding/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local gc = require "pygc"
local monitor = require "pygc.monitor"
local tracemalloc = require "pygc.tracemalloc"

local scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1") or 1
local REQUESTS = math.max(200, math.floor(30000 * scale))
local path = arg and arg[1] or "build/leak_report.html"
if not arg or not arg[1] then os.execute("mkdir -p build") end

local Request = gc.class("Request")
local Session = gc.class("Session")
local Socket = gc.class("Socket")

-- the application: every request opens a session whose socket links back
-- to it (a cycle the collector frees)...
app = { sessions = gc.new_dict(), served = 0 }
local function handle(i)
  local user = "user" .. (i % 997)
  local req <close> = Request{ path = "/page/" .. (i % 50), headers = gc.new_dict{ host = "example", n = i } }
  local s <close> = Session{ user = user, started = i, agent = "lua", lang = "en", log = gc.new_list{ "GET", req.path } }
  s.conn = Socket{ fd = i % 1024, owner = s }
  req.session = s
  -- ...but "remember me" logins stay in a cache nobody ever trims
  if i % 20 == 0 then app.sessions[user .. ":" .. i] = s end
  app.served = app.served + 1
end

tracemalloc.start(3)
monitor.start{ sample = 10 }
for i = 1, REQUESTS do handle(i) end
local written, summary = monitor.report(path, { title = "pygc heap report: examples/leak_report.lua" })
monitor.stop()
tracemalloc.stop()

local top = summary.growth[1]
print(("served %d requests; %d collections recorded"):format(app.served, summary.recorded))
print(("grew most: %s %+d objects"):format(top.type, top.delta))
print(("why: %s"):format(summary.chains[1].chain))
local where = written:sub(1, 1) == "/" and written or ((os.getenv("PWD") or ".") .. "/" .. written)
print(("report written to %s (open it in a browser)"):format(where))
