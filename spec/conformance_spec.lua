-- The differential conformance suite: every scenario runs once under
-- python3 (CPython is the oracle) and once under pygc, in fresh processes;
-- what they print must match line for line, after masking addresses and
-- timings, except where a scenario declares a divergence and why.
require "spec.support"
-- each suite is a pair spec/conformance/NAME.{py,lua}
local SUITES = { "scenarios", "weak_scenarios", "cross_scenarios", "class_scenarios" }
local suite = require "spec.conformance.scenarios"

local PY = os.getenv("PYGC_PYTHON") or "python3"
local LUA = os.getenv("PYGC_LUA") or "lua5.4"
local DIR = "spec/conformance/"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("a")
  p:close()
  return text
end

local function normalize(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("0x%x+", "ADDR")
    line = line:gsub("objects in each generation: %d+ %d+ %d+", "objects in each generation: N N N")
    line = line:gsub("%d+%.%d+s elapsed", "Ts elapsed")
    lines[#lines + 1] = line
  end
  return lines
end

local function diff(py, lua)
  local out = { "python3 | pygc" }
  for i = 1, math.max(#py, #lua) do
    local mark = py[i] == lua[i] and "  " or "!!"
    out[#out + 1] = ("%s %s | %s"):format(mark, py[i] or "<none>", lua[i] or "<none>")
  end
  return table.concat(out, "\n")
end

local python_version = run(PY .. " -c \"import sys; print('%d.%d' % sys.version_info[:2])\""):match("%d+%.%d+")

local function compare(name, mode, base)
  base = base or "scenarios"
  local py_text = run(PY .. " " .. DIR .. base .. ".py " .. name)
  if py_text:match("^SKIP") then
    pending(py_text) -- the reason is printed by the scenario
    return
  end
  local cpath = os.getenv("LUA_CPATH") or "./?.so;;"
  local lua_text = run("PYGC_MODE=" .. mode .. " LUA_CPATH='" .. cpath .. "' " .. LUA .. " " .. DIR .. base .. ".lua " .. name)
  local py, lua = normalize(py_text), normalize(lua_text)
  assert.is_true(#py > 0, "python printed nothing for " .. name)
  for _, d in ipairs((base == "scenarios" and suite or require("spec.conformance." .. base)).diverge[name] or {}) do
    for i, line in ipairs(py) do
      if line == d.py then py[i] = d.lua end
    end
  end
  assert(table.concat(py, "\n") == table.concat(lua, "\n"),
    "pygc (" .. mode .. ") diverges from CPython in " .. name .. ":\n" .. diff(py, lua))
end

describe("conformance with CPython " .. tostring(python_version), function()
  it("has python3 to compare with", function()
    assert.is_not_nil(python_version, "python3 is needed for the conformance suite")
    assert.is_true(#suite.names >= 50, "at least 50 scenarios")
  end)

  for _, name in ipairs(suite.names) do
    it(name, function() compare(name, "generational") end)
  end
end)

describe("conformance with CPython " .. tostring(python_version) .. ", incremental collector", function()
  for _, name in ipairs(suite.names) do
    if not suite.not_incremental[name] then
      it(name, function() compare(name, "incremental") end)
    end
  end
end)

for i = 2, #SUITES do
  local base = SUITES[i]
  local other = require("spec.conformance." .. base)
  describe("conformance with CPython " .. tostring(python_version) .. ": " .. base, function()
    for _, name in ipairs(other.names) do
      it(name, function() compare(name, "generational", base) end)
      if not other.not_incremental[name] then
        it(name .. " (incremental)", function() compare(name, "incremental", base) end)
      end
    end
  end)
end
