-- Instruction counts for creation and W3/W4 through Lua (issue 16), for
-- callgrind: one operation run N times, nothing else timed.  Run it twice
-- with two N and take the difference per operation: startup cancels out.
--   bench/w3_instr.sh [N1 N2]     (the driver of this script)
--   lua5.4 bench/w3_instr.lua OP N
-- OP: floor | list | dict | inst | table_gc           (create, dropped)
--     w3_inst | w3_list | w4_inst | w4_list           (pygc, as bench/w_pygc.lua)
--     lua_w3_inst | lua_w3_list | lua_w4_inst | lua_w4_list   (plain Lua tables)
local OP, N = arg[1], tonumber(arg[2]) or 100000
local gc = require "pygc"
local new_list, new_dict, None = gc.new_list, gc.new_dict, gc.None
local Node = gc.class("Node")
local FANOUT = 1000

local function build_w2_pygc(list)
  local root = new_list()
  for i = 1, FANOUT do
    local p = new_list()
    for j = 1, FANOUT do
      local c
      if list then c = new_list{ p } else c = Node(); c.parent = p end
      p[j] = c
      gc.release(c)
    end
    root[i] = p
    gc.release(p)
  end
  return root
end

local function build_w2_lua(list)
  local root = {}
  for i = 1, FANOUT do
    local p = {}
    for j = 1, FANOUT do
      if list then p[j] = { p } else p[j] = { parent = p } end
    end
    root[i] = p
  end
  return root
end

local function churn_pygc(list)
  gc.enable()
  for _ = 1, N do
    if list then
      local a <close> = new_list{ None }
      local b <close> = new_list{ a }
      local c <close> = new_list{ b }
      a[1] = c
    else
      local a <close> = Node()
      local b <close> = Node()
      local c <close> = Node()
      a.next = b; b.next = c; c.next = a
    end
  end
end

local function churn_lua(list)
  collectgarbage("restart")
  for _ = 1, N do
    local a, b, c
    if list then a = { false }; b = { a }; c = { b }; a[1] = c
    else a = {}; b = {}; c = {}; a.next = b; b.next = c; c.next = a end
  end
end

local keep
local ops = {
  floor = function() local floor = require "floor"; local new = floor.new; for _ = 1, N do local _ = new() end end,
  table_gc = function() local mt = { __gc = function() end }; for _ = 1, N do local _ = setmetatable({}, mt) end end,
  list = function() for _ = 1, N do local _ = new_list() end end,
  dict = function() for _ = 1, N do local _ = new_dict() end end,
  inst = function() for _ = 1, N do local _ = Node() end end,
  w3_inst = function() collectgarbage(); gc.collect(); churn_pygc(false) end,
  w3_list = function() collectgarbage(); gc.collect(); churn_pygc(true) end,
  w4_inst = function() gc.disable(); keep = build_w2_pygc(false); collectgarbage(); gc.collect(); churn_pygc(false) end,
  w4_list = function() gc.disable(); keep = build_w2_pygc(true); collectgarbage(); gc.collect(); churn_pygc(true) end,
  lua_w3_inst = function() collectgarbage(); churn_lua(false) end,
  lua_w3_list = function() collectgarbage(); churn_lua(true) end,
  lua_w4_inst = function() collectgarbage(); collectgarbage("stop"); keep = build_w2_lua(false); collectgarbage(); churn_lua(false) end,
  lua_w4_list = function() collectgarbage(); collectgarbage("stop"); keep = build_w2_lua(true); collectgarbage(); churn_lua(true) end,
}
local f = assert(ops[OP], "unknown OP")
f()
