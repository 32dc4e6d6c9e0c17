-- Shared helpers for the specs: a clean collector state before each test,
-- heap verification, and running a snippet in a fresh lua5.4 process.
local gc = require "pygc"
local M = { gc = gc }

-- Large loops scale down under valgrind (PYGC_SPEC_SCALE=0.01 etc.).
M.scale = tonumber(os.getenv("PYGC_SPEC_SCALE") or "1") or 1
function M.n(count) return math.max(1, math.floor(count * M.scale)) end

function M.verify()
  local ok, msg = gc._verify()
  assert(ok, "heap verification failed: " .. tostring(msg))
  return true
end

-- Drop dead handles (Lua's collector) and then pygc's garbage.
function M.collect_all()
  collectgarbage(); collectgarbage()
  return gc.collect()
end

function M.reset()
  gc.callbacks = {}
  gc.set_mode(os.getenv("PYGC_MODE") or "generational")
  gc.unraisablehook = M.default_hook
  gc.set_debug(0)
  gc.set_threshold(700, 10, 10)
  gc.enable()
  gc.unfreeze()
  M.collect_all()
  -- break what gc.garbage holds (legacy cycles would come back otherwise)
  local g = gc.garbage
  for i = 1, #g do
    local o = g[i]
    local kind = gc.type(o)
    if kind == "list" then
      while #o > 0 do o[#o] = nil end
    elseif kind ~= "dict" and kind ~= "tuple" then
      local names = {}
      for k in pairs(o) do names[#names + 1] = k end
      for _, k in ipairs(names) do o[k] = nil end
    end
  end
  while #g > 0 do g[#g] = nil end
  M.collect_all()
  M.verify()
end

M.default_hook = gc.unraisablehook

-- Run Lua code in a fresh process; returns its stdout+stderr and success.
function M.run_lua(code)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write('package.cpath = "./?.so;" .. package.cpath\n')
  f:write('package.path = "./binding/?.lua;./binding/?/init.lua;" .. package.path\n')
  f:write(code)
  f:close()
  local lua = os.getenv("PYGC_LUA") or "lua5.4"
  local p = io.popen(lua .. " -W " .. path .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  os.remove(path)
  return out, ok
end

-- Collect the reports made through gc.unraisablehook while fn runs.
function M.capture_unraisable(fn)
  local reports = {}
  gc.unraisablehook = function(err, what, obj)
    reports[#reports + 1] = { err = tostring(err), what = what, obj = obj }
  end
  local ok, e = pcall(fn)
  gc.unraisablehook = M.default_hook
  assert(ok, e)
  return reports
end

return M
