-- One Lua-path operation N times, for bench/lua_path_instr.sh (issue 16):
--   lua5.4 bench/lua_path_op.lua OP KIND N
-- OP: read_item (l[1]), read_attr (o.x), write_attr (o.x = i), read_method (o.m)
-- KIND: pygc, floor (bench/floor.c), table (a plain Lua table).
-- Run under callgrind at two N: the difference over the extra iterations is
-- the instructions one operation costs, with startup cancelled.
local op, kind, N = arg[1], arg[2], tonumber(arg[3])
local x
if kind == "pygc" then
  local gc = require "pygc"
  if op == "read_item" then x = gc.new_list { 1 }
  else
    local C = gc.class("C")
    C.m = 1
    x = C { x = 1 }
  end
elseif kind == "floor" then
  x = require("floor").new()
else
  x = { 1, x = 1, m = 1 }
end
local s = 0
if op == "read_item" then for _ = 1, N do s = s + x[1] end
elseif op == "read_attr" then for _ = 1, N do s = s + x.x end
elseif op == "read_method" then for _ = 1, N do s = s + x.m end
elseif op == "write_attr" then for i = 1, N do x.x = i end
else error("unknown op " .. tostring(op)) end
