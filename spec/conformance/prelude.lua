-- What every pygc side of the conformance suites starts and ends with: the
-- neutral output format (the same as prelude.py's), the scenario registry,
-- Python-like collection, and the entry point.  A suite does
--   local P = require("spec.conformance.prelude").new()
-- and ends with `return P.main("SUITE", DIVERGE, NOT_INCREMENTAL)`: as a
-- script (lua5.4 spec/conformance/SUITE.lua NAME | --list) that runs the
-- scenario; required as a module it returns the names and the declared
-- divergences for spec/conformance_spec.lua.
local gc = require "pygc"

local M = {}

-- opts.nil_is_none: print a Lua nil as None (where the python side reads
-- a missing value as None)
function M.new(opts)
  opts = opts or {}
  io.stdout:setvbuf("no")
  local P = { S = {}, NAMES = {} }

  function P.fmt(v)
    if v == true then return "true" elseif v == false then return "false" end
    if v == gc.None or (v == nil and opts.nil_is_none) then return "None" end
    return tostring(v)
  end

  function P.out(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = P.fmt(t[i]) end
    io.write(table.concat(t, " ", 1, t.n), "\n")
  end

  -- Python's temporaries die at once; Lua's handles die when Lua collects:
  -- every collection first lets Lua drop dead handles.
  function P.collect(g)
    collectgarbage(); collectgarbage()
    if g then return gc.collect(g) end
    return gc.collect()
  end

  P.del = gc.release

  function P.scenario(name, fn)
    P.S[name] = fn
    P.NAMES[#P.NAMES + 1] = name
  end

  function P.main(suite, diverge, not_incremental)
    local a0 = arg and arg[0]
    local file = suite .. ".lua"
    local script = a0 and (a0 == file or a0:sub(-#file - 1) == "/" .. file)
    if not script then return { names = P.NAMES, diverge = diverge or {}, not_incremental = not_incremental or {} } end
    if arg[1] == "--list" then
      print(table.concat(P.NAMES, "\n"))
      return
    end
    local fn = assert(P.S[arg[1]], "no scenario " .. tostring(arg[1]))
    gc.set_mode(os.getenv("PYGC_MODE") or "generational")
    P.collect()
    gc.disable()
    fn()
  end

  return P
end

return M
