-- Every public name of the modules is in the LDoc reference (build/doc,
-- written by `make doc`): the functions and fields of `pygc`, and the
-- functions of each toolkit module and of the classes they export
-- (methods as Class:name or Class.name).  Names starting with "_" are
-- internal and not required.  Run from the top of the tree:
--   LUA_CPATH="./?.so;;" LUA_PATH="./binding/?.lua;;" lua5.4 tools/check_doc.lua
local missing, checked = {}, 0

local function anchors(module)
  local f = io.open("build/doc/modules/" .. module .. ".html")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local set = {}
  for name in text:gmatch('<a name = "([^"]+)"') do set[name] = true end
  return set
end

local function check(module, tbl, every_field)
  local have = anchors(module)
  if not have then missing[#missing + 1] = module .. " (no page)"; return end
  for name, v in pairs(tbl) do
    if type(name) == "string" and name:sub(1, 1) ~= "_" then
      if type(v) == "function" or every_field then
        checked = checked + 1
        if not have[name] then missing[#missing + 1] = module .. "." .. name end
      elseif type(v) == "table" and name:match("^%u") then
        -- an exported class: its functions, by Class:name or Class.name
        for mname, mv in pairs(v) do
          if type(mv) == "function" and type(mname) == "string" and not mname:match("^_") then
            checked = checked + 1
            if not (have[name .. ":" .. mname] or have[name .. "." .. mname]) then
              missing[#missing + 1] = module .. "." .. name .. ":" .. mname
            end
          end
        end
      end
    end
  end
end

check("pygc", require "pygc", true)
-- every toolkit module: binding/pygc/NAME.lua is pygc.NAME
local ls = assert(io.popen("ls binding/pygc/*.lua"))
for file in ls:lines() do
  local m = "pygc." .. file:match("([^/]+)%.lua$")
  check(m, require(m), false)
end
ls:close()

table.sort(missing)
if #missing > 0 then
  print("not in the reference (add doc comments, then make doc):")
  for _, m in ipairs(missing) do print("  " .. m) end
  os.exit(1)
end
print(("every one of %d public names is in the reference"):format(checked))
