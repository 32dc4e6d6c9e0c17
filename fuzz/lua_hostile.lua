-- lua_hostile.lua -- a fuzzer whose hooks fight back.
--
-- Every piece of Lua code that pygc can run from inside its own C code --
-- finalizers (__del), gc.callbacks, class __init, the __len/__index of a
-- table passed as a sequence, Lua __gc metamethods of tables that Lua
-- collects at any allocation, coroutine bodies -- makes random API calls
-- itself: it creates, reads, writes and releases containers, collects
-- (pygc and Lua), switches collector modes, resumes and closes coroutines,
-- starts, clears and snapshots tracemalloc, resurrects objects into
-- reachable containers, walks its partners' attributes and raises.  The
-- heap is checked with gc._verify() after every top-level operation.
-- Errors inside hooks are reported through gc.unraisablehook: counted, not
-- failures.  What fails a seed: a Lua error that is not one of the clear
-- errors the contract names, a failed _verify, or the process dying
-- (a sanitizer report, a crash).
--
--   lua5.4 fuzz/lua_hostile.lua SECONDS [FIRST_SEED [OPS]]
--       driver: runs one child process per seed (FIRST_SEED, +1, ...) of
--       OPS top-level operations each until SECONDS have passed; exits 1
--       if any seed failed, printing each failing seed and how to replay it
--   lua5.4 fuzz/lua_hostile.lua --seed SEED [OPS]
--       one seed (the replay: use the command the driver prints, which
--       pins Lua's hash seed and addresses, see fuzz/fixed_time.c);
--       with HOSTILE_LOG=0 changed to HOSTILE_LOG=1 it prints every
--       operation to stderr as it starts, to see what ran just before a
--       crash
--
-- Deterministic per seed: one PRNG, no iteration over Lua tables whose
-- order depends on addresses or string hashes, no timing inside a seed;
-- the driver pins what Lua itself randomises (its string-hash seed and,
-- through ASLR, addresses), so a failing seed replays exactly.
if not os.getenv("LUA_CPATH") then package.cpath = "./?.so;" .. package.cpath end
if not os.getenv("LUA_PATH") then package.path = "./binding/?.lua;./binding/?/init.lua;" .. package.path end

local LUA = arg[-1] or "lua5.4"
local SCRIPT = arg[0]
local DEFAULT_OPS = 1500

-- ---- the driver ------------------------------------------------------------------

if arg[1] ~= "--seed" then
  local seconds = tonumber(arg[1]) or 10
  local seed = math.tointeger(tonumber(arg[2])) or os.time() % 1000000
  local ops = math.tointeger(tonumber(arg[3])) or DEFAULT_OPS
  local t0 = os.time()
  -- the same seed must run the same way.  Lua seeds its string hashes
  -- from time() and from addresses (a heap block, a stack slot): children
  -- get a pinned time() (fuzz/fixed_time.c, preloaded), no ASLR
  -- (setarch -R) and a fixed environment (env -i: its size moves the
  -- stack), so the printed command replays a seed exactly
  local stub = "build/fuzz/fixed_time.so"
  if not io.open(stub) then os.execute("mkdir -p build/fuzz && cc -shared -fPIC -O1 -o " .. stub .. " fuzz/fixed_time.c 2>/dev/null") end
  local here = os.getenv("PWD") or "."
  local preload = os.getenv("LD_PRELOAD") or ""
  if io.open(stub) then
    preload = (preload ~= "" and (preload .. ":") or "") .. here .. "/" .. stub
  else
    print("lua_hostile: could not build " .. stub .. ": a failing seed may not replay exactly")
  end
  local env = { "PATH=/usr/local/bin:/usr/bin:/bin" }
  local function pass(name, value)
    if value and value ~= "" then env[#env + 1] = ("%s='%s'"):format(name, value) end
  end
  pass("LUA_CPATH", os.getenv("LUA_CPATH") or "./?.so;;")
  pass("LUA_PATH", os.getenv("LUA_PATH") or "./binding/?.lua;./binding/?/init.lua;;")
  pass("LD_PRELOAD", preload)
  pass("ASAN_OPTIONS", os.getenv("ASAN_OPTIONS"))
  pass("UBSAN_OPTIONS", os.getenv("UBSAN_OPTIONS"))
  pass("HOSTILE_AVOID", os.getenv("HOSTILE_AVOID") or "-")
  env[#env + 1] = "HOSTILE_LOG=0" -- 1 for a trace: the same length, the same stack
  local prefix = "env -i " .. table.concat(env, " ") .. " "
  if os.execute("setarch -R true >/dev/null 2>&1") then prefix = prefix .. "setarch -R " end
  local replay_env = ""
  local runs, total_ops, total_hooks, total_unraisable, failed = 0, 0, 0, 0, {}
  io.stdout:setvbuf("line")
  print(("lua_hostile: seeds from %d, %d operations each, %d s"):format(seed, ops, seconds))
  local wall = function() return os.time() - t0 end
  local kinds = {}
  VERBOSE = os.getenv("HOSTILE_VERBOSE")
  -- one line naming a failure: the sanitizer's report and the first frame
  -- in pygc's code (where it happened, and where the memory was freed), or
  -- the fuzzer's own message
  local function ours(section)
    for fn, where in (section or ""):gmatch("#%d+ 0x%x+ in ([%w_]+) ([%w_/%.%-]+:%d+)") do
      if where:match("^binding/") or where:match("^lib/") then return fn .. " " .. where end
    end
  end
  function signature(text)
    local kind = text:match("ERROR: AddressSanitizer: ([%w%-]+)") or text:match("runtime error: ([^\n]+)")
    if kind then
      local main = text:match("ERROR: AddressSanitizer.-\n\n") or text:match("runtime error.-\n\n") or text
      local freed = text:match("freed by thread.-\n\n")
      local sig = kind .. " at " .. (ours(main) or "?")
      if freed then sig = sig .. ", freed " .. (ours(freed) and ("via " .. ours(freed)) or "by Lua") end
      return sig
    end
    local msg = text:match("lua_hostile: seed %d+, operation %d+: ([^\n]+)")
    if msg then return (msg:gsub("fuzz/lua_hostile.lua:%d+: ", ""):gsub("%d+", "N")) end
    if text:match("Segmentation fault") then return "segmentation fault" end
    return "died: " .. (text:match("([^\n]+)\n?$") or "?")
  end
  -- the lines of a report worth reading: the sanitizer's frames in pygc's
  -- code and the fuzzer's own messages
  local function excerpt(text)
    local out = {}
    for l in text:gmatch("[^\n]+") do
      if l:match("ERROR: ") or l:match("runtime error") or l:match("freed by thread") or l:match("previously allocated")
        or l:match(" in [%w_]+ binding/") or l:match(" in [%w_]+ lib/") or l:match("^lua_hostile:") or l:match("recent operations") then
        out[#out + 1] = l
      end
      if #out >= (VERBOSE and 80 or 24) then break end
    end
    return out
  end
  repeat
    local cmd = ("%s%s %s --seed %d %d 2>&1"):format(prefix, LUA, SCRIPT, seed, ops)
    local p = io.popen(cmd)
    local text = p:read("a")
    local ok, how, code = p:close()
    local done = text:match("\nhostile ok ([^\n]*)") or text:match("^hostile ok ([^\n]*)")
    if ok and done then
      runs = runs + 1
      local n, hooks, unr = done:match("(%d+) ops, (%d+) hook calls, (%d+) unraisable")
      total_ops = total_ops + (tonumber(n) or 0)
      total_hooks = total_hooks + (tonumber(hooks) or 0)
      total_unraisable = total_unraisable + (tonumber(unr) or 0)
    else
      runs = runs + 1
      failed[#failed + 1] = seed
      local sig = signature(text)
      print(("lua_hostile: seed %d FAILED (%s %s): %s; replay: %s%s %s --seed %d %d"):format(
        seed, tostring(how), tostring(code), sig, replay_env .. prefix, LUA, SCRIPT, seed, ops))
      if not kinds[sig] then
        kinds[sig] = { first = seed, n = 0, wall = wall() }
        kinds[#kinds + 1] = sig
        for _, l in ipairs(excerpt(text)) do print("   | " .. l) end
      end
      kinds[sig].n = kinds[sig].n + 1
    end
    seed = seed + 1
  until wall() >= seconds
  local secs = math.max(wall(), 1)
  print(("lua_hostile: %d seeds, %d failed%s; %d top-level operations (%.0f/s), %d hook calls, %d errors reported through gc.unraisablehook, %d s"):format(
    runs, #failed, #failed > 0 and (" (" .. table.concat(failed, ",") .. ")") or "", total_ops,
    total_ops / secs, total_hooks, total_unraisable, secs))
  for _, sig in ipairs(kinds) do
    print(("lua_hostile: %d seed(s) hit %s (first: seed %d, after %d s)"):format(kinds[sig].n, sig, kinds[sig].first, kinds[sig].wall))
  end
  os.exit(#failed == 0 and 0 or 1)
end

-- ---- one seed ----------------------------------------------------------------------

local SEED = math.tointeger(tonumber(arg[2])) or 1
local OPS = math.tointeger(tonumber(arg[3])) or DEFAULT_OPS
local LOG = os.getenv("HOSTILE_LOG") == "1"
-- HOSTILE_AVOID=self,thread,tracer,verify leaves out the shapes that reach
-- the known defects of issue 12 (a finalizer's borrowed self kept by a
-- dying Lua object; a coroutine used from Lua code that pygc's C code runs;
-- tracemalloc snapshots and tracebacks; gc._verify() from inside hooks),
-- to look past them
local AVOID = {}
for w in (os.getenv("HOSTILE_AVOID") or ""):gmatch("[%w_]+") do AVOID[w] = true end
io.stdout:setvbuf("no")
io.stderr:setvbuf("no")
print(("hostile seed %d, %d operations"):format(SEED, OPS))

local gc = require "pygc"
local tm = require "pygc.tracemalloc"

-- xorshift-style PRNG of our own: math.random's sequence is the same per seed
-- too, but keeping it here makes the stream independent of other users
local rs = SEED * 2654435761 % 4294967296 + 1
local function R(a, b)
  rs = (rs * 1103515245 + 12345) % 2147483648
  local x = rs // 65536
  if not a then return x / 32768 end
  if not b then a, b = 1, a end
  return a + x % (b - a + 1)
end
local function chance(n) return R(n) == 1 end

local None = gc.None
local NS = 12                -- handle slots
local pool = {}              -- handles (some released, some nil)
local keep = gc.new_list()   -- reachable: resurrection goes here
local kd = gc.new_dict()     -- reachable too
local stash = {}             -- plain Lua references kept past a finalizer
local cos = {}               -- coroutines, suspended or dead
local depth = 0              -- nesting of hooks
local MAXD = 4
local stats = { hooks = 0, unraisable = 0, clean = 0, ops = 0 }
local recent = {}            -- the last operations, shown on failure

-- The errors the contract names.  Anything else is a finding.
local allowed = {
  "list assignment index out of range", "list indices must be integers", "tuple is immutable",
  "unhashable type", "NaN cannot be a dict key", "changed size during iteration", "keys changed during iteration",
  "use of a released handle", "has no len", "not callable", "attribute name must be string",
  "cannot store a", "nil cannot be a dict key", "invalid generation", "bad argument",
  "cannot set attributes", "is not iterable", "fuzz:", "cannot switch collectors during a collection",
  "the heap is closed", "stack overflow", "C stack overflow", "error in error handling",
  "cannot resume", "size or nesting too large", "dictionary changed", "list changed",
  "index out of range", "cannot close a", "attempt to yield",
  "must be tracing memory", "gc.callbacks is not a table", "for 'concat'",
  "invalid order function for sorting",
}
local function ok_error(e)
  if type(e) ~= "string" then return e == nil or type(e) == "table" end
  for _, a in ipairs(allowed) do if e:find(a, 1, true) then return true end end
  return false
end

local function fail(what, msg)
  io.stderr:write(("lua_hostile: seed %d, operation %d: %s: %s\n"):format(SEED, stats.ops, what, tostring(msg)))
  io.stderr:write("  recent operations: " .. table.concat(recent, " ") .. "\n")
  io.stderr:write(debug.traceback() .. "\n")
  os.exit(2) -- without closing the state: the finding is reported as is
end

-- an unexpected error inside a hook is reported through unraisablehook;
-- it fails the seed as well, since it names something outside the contract
local unexpected_in_hook
gc.unraisablehook = function(err, what)
  stats.unraisable = stats.unraisable + 1
  if not ok_error(type(err) == "string" and err or tostring(err)) and not unexpected_in_hook then
    unexpected_in_hook = tostring(what) .. ": " .. tostring(err)
  end
  if chance(40) then error("fuzz: unraisablehook raises") end
end

ERRSTATS = os.getenv("HOSTILE_ERRSTATS") and {} or nil

local function note(name)
  recent[#recent + 1] = ("%d:%s"):format(depth, name)
  if #recent > 40 then table.remove(recent, 1) end
  -- made whether or not it is written: a trace must not change what Lua allocates
  local line = ("op %d d%d %s\n"):format(stats.ops, depth, name)
  if LOG then io.stderr:write(line) end
end

local function is_handle(v) return type(v) == "userdata" and v ~= None end

-- a slot's handle; a released one is mostly dropped and another tried,
-- so that most operations reach live objects
local function any_slot()
  for _ = 1, 3 do
    local i = R(NS)
    local h = pool[i]
    if not is_handle(h) or pcall(gc.id, h) or chance(8) then return h end
    pool[i] = nil
  end
  return pool[R(NS)]
end

local strings = { "a", "b", "name", "x", "", ("s"):rep(40), "partner", "ref" }
local function atom()
  local k = R(8)
  if k == 1 then return None elseif k == 2 then return R(-5, 5)
  elseif k == 3 then return R() * 10 elseif k == 4 then return chance(2)
  elseif k == 5 then return math.maxinteger
  else return strings[R(#strings)] end
end

local act -- forward

local function value()
  local k = R(12)
  if k <= 4 then return atom()
  elseif k == 5 then return keep
  elseif k == 6 then return kd
  elseif k == 7 and chance(4) then return {} -- a Lua table: stored by reference, or refused
  elseif k == 8 and chance(8) then return 0 / 0
  else return any_slot() or atom() end
end

local function key()
  local k = R(6)
  if k == 1 then return R(0, 5) elseif k == 2 then return strings[R(#strings)]
  elseif k == 3 then return gc.new_tuple{ R(3), strings[R(#strings)] }
  else return value() end
end

-- run a hook's body one level deeper; the level is restored however the
-- body ends, then its error (if any) goes on to pygc, which reports it
local function hook(name, f, ...)
  stats.hooks = stats.hooks + 1
  depth = depth + 1
  note(name)
  local ok, e = pcall(f, ...)
  depth = depth - 1
  if not ok then error(e, 0) end
end

-- ---- hostile Lua values --------------------------------------------------------

-- a Lua table that does random things when Lua collects it; it may hold
-- handles (the borrowed self of a finalizer among them) that it uses after
local ghost_mt = {
  __gc = function(t)
    stats.hooks = stats.hooks + 1
    depth = depth + 1
    note("ghost")
    local ok, e = pcall(function()
      if chance(3) then while #keep > 0 do keep[#keep] = nil end end
      if chance(4) then gc.release(keep[1] or keep) end
      for _ = 1, R(0, 2) do act() end
      local h = t.h
      if is_handle(h) then
        local _ = h.name, h.a, #tostring(h)
        if chance(3) then h.a = t end
        if chance(4) then gc.release(h) end
      end
    end)
    depth = depth - 1
    if not ok and not ok_error(e) then fail("error in a Lua __gc", e) end
  end,
}
local function ghost(h)
  setmetatable({ h = h }, ghost_mt)
end

-- a table whose length and items are computed by code that calls pygc
local function hostile_seq()
  local n = R(0, 4)
  return setmetatable({}, {
    __len = function() hook("__len", act); return n end,
    __index = function(_, i)
      hook("__index", function()
        if chance(2) then act() end
        if chance(3) and not AVOID.thread then
          -- a coroutine makes a pygc call, ends, and is dropped at once
          coroutine.wrap(function() pool[R(NS)] = gc.new_dict{ k = i } end)()
          if chance(2) then collectgarbage() end
        end
      end)
      return value()
    end,
  })
end

-- ---- classes with hostile hooks ------------------------------------------------------

local function walk(o, steps)
  for _ = 1, steps do
    if not is_handle(o) then return end
    local t = gc.type(o)
    if t == "list" or t == "tuple" then
      if #o == 0 then return end
      o = o[R(#o)]
    elseif t == "dict" then
      local n, want, nxt = 0, R(3), nil
      for k, v in pairs(o) do
        n = n + 1
        nxt = chance(2) and k or v
        if n >= want then break end
      end
      o = nxt
    else
      local names = { "a", "b", "partner", "ref", "name", "x" }
      o = o[names[R(#names)]]
    end
  end
  if is_handle(o) then local _ = tostring(o) end
  return o
end

local function empty(o)
  if not is_handle(o) then return end
  local t = gc.type(o)
  if t == "list" then while #o > 0 do o[#o] = nil end
  elseif t == "dict" then
    local ks = {}
    for k in pairs(o) do ks[#ks + 1] = k end
    for _, k in ipairs(ks) do o[k] = nil end
  elseif t ~= "tuple" then o.a = nil; o.b = nil; o.partner = nil; o.ref = nil end
end

local function del_body(self)
  local k = R(12)
  if k == 1 then keep[#keep + 1] = self                   -- resurrect
  elseif k == 2 then kd[self] = self.name or 1             -- resurrect through a dict key
  elseif k == 3 then local o = any_slot(); if is_handle(o) then o.a = self end
  elseif k == 4 then if not AVOID.self then ghost(self) end -- keep the borrowed self in a dying Lua object
  elseif k == 5 then stash[R(4)] = self                    -- a Lua variable past __del
  elseif k == 6 then self.a = nil; self.ref = None; self.partner = nil -- suicide
  elseif k == 7 then error("fuzz: finalizer raises")
  elseif k == 8 then empty(any_slot())                     -- mutate what the interrupted code may be walking
  elseif k == 9 then gc.release(self)                      -- release the borrowed self, then go on using it
  end
  walk(self, R(0, 4))                                      -- read the cycle
  if depth < MAXD then for _ = 1, R(0, 2) do act() end end
  if chance(6) then keep[#keep + 1] = self; if not AVOID.self then ghost(self) end end
end
local function hostile_del(self) hook("__del", del_body, self) end

local classes = {
  gc.class("Plain"),
  gc.class("Fin", { __del = function(self) hostile_del(self) end }),
  gc.class("Legacy", { legacy = true, __del = function(self) hostile_del(self) end }),
  gc.class("Built", {
    __init = function(self)
      self.name = "built"
      if depth < MAXD then hook("__init", act) end
    end,
    __del = function(self) hostile_del(self) end,
  }),
}

local function callback_body(phase, info)
  local _ = phase, info.generation, info.collected, info.uncollectable
  if chance(5) then gc.set_mode(chance(2) and "incremental" or "generational") end -- refused: counted
  if chance(10) and type(gc.callbacks) == "table" then table.remove(gc.callbacks, 1) end
  if chance(12) then error("fuzz: callback raises") end
  if depth < MAXD then for _ = 1, R(0, 2) do act() end end
end
local function callback(phase, info) hook("callback", callback_body, phase, info) end

-- ---- the actions ------------------------------------------------------------------------

local function new_object()
  local k = R(9)
  if k == 1 then return gc.new_list{ value(), value() }
  elseif k == 2 then return gc.new_dict{ a = value(), b = value() }
  elseif k == 3 then return gc.new_tuple{ value(), value() }
  elseif k == 4 then return gc.new_list(hostile_seq())
  elseif k == 5 then return gc.new_tuple(hostile_seq())
  else
    local o = classes[R(#classes)]{ a = value() }
    if chance(2) then o.ref = o end
    if chance(2) then local p = any_slot(); if is_handle(p) then o.partner = p; pcall(function() p.partner = o end) end end
    return o
  end
end

local function coroutine_body()
  local x <close> = gc.new_list{ 1 }
  for _ = 1, R(1, 4) do
    act()
    local held = any_slot()
    coroutine.yield(held)
    if is_handle(held) then local _ = tostring(held) end
  end
  return x
end

local A = {
  { 6, "new", function() pool[R(NS)] = new_object() end },
  { 3, "set item", function() local o = any_slot(); if is_handle(o) then o[key()] = value() end end },
  { 2, "append", function() local o = any_slot(); if is_handle(o) then o[#o + 1] = value() end end },
  { 2, "delete item", function() local o = any_slot(); if is_handle(o) then o[key()] = nil end end },
  { 3, "set attr", function() local o = any_slot(); if is_handle(o) then o[({ "a", "b", "ref", "partner" })[R(4)]] = value() end end },
  { 3, "read", function() local o = any_slot(); if is_handle(o) then local _ = o[key()], #tostring(o) end end },
  { 3, "walk", function() walk(any_slot(), R(1, 6)) end },
  { 2, "iterate", function()
    local o = any_slot()
    if not is_handle(o) then return end
    local n = 0
    for k in pairs(o) do
      n = n + 1
      if chance(4) then act() end
      if chance(6) then o[k] = value() end
      if n > 6 then break end
    end
  end },
  { 3, "release", function() local o = any_slot(); if is_handle(o) then gc.release(o) end end },
  { 2, "class attr", function() -- classes are heap objects: their attributes change under running code
    local C = classes[R(#classes)]
    local k = R(6)
    if k == 1 then C[({ "a", "b", "ref", "partner" })[R(4)]] = value()
    elseif k == 2 then C[({ "a", "b", "ref", "partner" })[R(4)]] = nil
    elseif k == 3 then C.self = chance(2) and C or nil
    elseif k == 4 then local o = any_slot(); if is_handle(o) then C.inst = o end
    elseif k == 5 then C.__del = chance(2) and function(self) hostile_del(self) end or nil
    else C.__init = chance(2) and function() if depth < MAXD then hook("__init", act) end end or nil end
  end },
  { 3, "drop", function() pool[R(NS)] = nil end },
  { 3, "garbage cycle", function()
    -- a ring of finalizable instances that only the ring holds
    local n, first, prev = R(1, 4), nil, nil
    for _ = 1, n do
      local o = classes[R(2, #classes)]()
      o.name = strings[R(#strings)]
      if prev then prev.partner = o; o.ref = prev else first = o end
      if chance(2) then o.b = value() end
      prev = o
    end
    prev.partner = first; first.ref = prev
    if chance(3) then pool[R(NS)] = prev end
  end },
  { 2, "cycle", function()
    local a, b = any_slot(), any_slot()
    if is_handle(a) and is_handle(b) then a.partner = b; b.partner = a end
  end },
  { 2, "gc.collect", function() gc.collect(R(0, 2)) end },
  { 1, "gc.collect()", function() gc.collect() end },
  { 2, "set_mode", function() gc.set_mode(chance(2) and "incremental" or "generational") end },
  { 2, "lua step", function() collectgarbage("step", R(0, 8)) end },
  { 1, "lua full", function() collectgarbage() end },
  { 2, "ghost", function() ghost(any_slot()) end },
  { 1, "resurrect", function() local o = any_slot(); if is_handle(o) then keep[#keep + 1] = o end end },
  { 1, "clear keep", function() while #keep > 0 do keep[#keep] = nil end; for k in pairs(stash) do stash[k] = nil end end },
  { 2, "co new", thread = true, function() cos[R(4)] = coroutine.create(coroutine_body) end },
  { 3, "co resume", thread = true, function()
    local co = cos[R(4)]
    if co then local ok, v = coroutine.resume(co); if ok and is_handle(v) then pool[R(NS)] = v end end
  end },
  { 1, "co close", thread = true, function() local co = cos[R(4)]; if co then coroutine.close(co) end end },
  { 1, "co drop", thread = true, function() cos[R(4)] = nil; if chance(2) then collectgarbage() end end },
  { 1, "co wrap call", thread = true, function()
    coroutine.wrap(function() pool[R(NS)] = gc.new_list{ value() }; act() end)()
  end },
  { 1, "tm start", function() tm.start(R(1, 5)) end },
  { 1, "tm stop", function() tm.stop() end },
  { 1, "tm clear", function() tm.clear_traces() end },
  { 1, "tm snapshot", tracer = true, function()
    local snap = tm.take_snapshot()
    if chance(2) then snap:statistics(chance(2) and "lineno" or "filename") end
  end },
  { 1, "tm object", tracer = true, function() local o = any_slot(); if is_handle(o) then tm.get_object_traceback(o) end; tm.get_traced_memory() end },
  { 1, "callback add", function()
    -- one read: making {} can run finalizers, and "hook vandal" among them
    -- may set gc.callbacks to a number in between
    local cbs = gc.callbacks
    if type(cbs) ~= "table" then cbs = {}; gc.callbacks = cbs end
    cbs[#cbs + 1] = callback
  end },
  { 1, "callbacks clear", function() if chance(3) then gc.callbacks = {} end end },
  { 1, "threshold", function() gc.set_threshold(({ 0, 1, 2, 5, 50, 700 })[R(6)], R(1, 4), R(1, 4)) end },
  { 1, "freeze", function() if chance(3) then gc.freeze() else gc.unfreeze() end end },
  { 1, "saveall", function() gc.set_debug(chance(3) and gc.DEBUG_SAVEALL or 0) end },
  { 1, "garbage clear", function() local g = gc.garbage; while #g > 0 do g[#g] = nil end end },
  { 1, "introspect", function()
    local o = any_slot()
    if is_handle(o) then
      gc.refcount(o); gc.sizeof(o); gc.is_tracked(o); gc.is_finalized(o); gc.type(o); gc.id(o)
      if chance(2) then gc.get_referrers(o) else gc.get_referents(o) end
    end
    gc.get_count(); gc.get_stats(); gc.heap_info()
  end },
  { 1, "get_objects", function()
    local all = gc.get_objects(R(0, 2))
    for _ = 1, R(0, 3) do
      local o = all[R(math.max(#all, 1))]
      if is_handle(o) then
        local t = gc.type(o)
        if t == "list" and #o > 0 then o[#o] = nil
        elseif t == "dict" then o[key()] = value()
        elseif t ~= "tuple" then o.a = value() end
      end
    end
  end },
  { 1, "close var", function() local x <close> = gc.new_dict{ v = value() }; act() end },
  { 1, "raise", function() error("fuzz: deliberate") end },
  { 1, "sort", function()
    local o = any_slot()
    if is_handle(o) and gc.type(o) == "list" then
      table.sort(o, function(x, y)
        if chance(3) then act() end
        return type(x) == "number" and type(y) == "number" and x < y
      end)
    end
  end },
  { 1, "insert remove", function()
    local o = any_slot()
    if is_handle(o) and gc.type(o) == "list" then
      table.insert(o, 1, value())
      if chance(2) then table.remove(o, 1) end
      if chance(3) then local _ = table.concat(o, ",") end
    end
  end },
  { 1, "big repr", function()
    -- a container that repr walks through many allocations, holding the
    -- handles of finalizable garbage
    local l = gc.new_list()
    for i = 1, R(5, 40) do
      local o = classes[R(2, #classes)]()
      o.ref = o
      o.l = l
      l[i] = chance(3) and o or gc.new_list{ o, strings[R(#strings)], R(100) }
    end
    pool[R(NS)] = l
    local _ = #tostring(l)
  end },
  { 1, "hook vandal", function()
    local saved = gc.unraisablehook
    gc.unraisablehook = ({ 42, false, "x", setmetatable({}, { __call = function() error("fuzz: hook object raises") end }) })[R(4)]
    act()
    gc.unraisablehook = saved
    if chance(2) then gc.callbacks = chance(2) and 7 or { 1, "x", callback } end
  end },
  { 1, "class", function()
    local C = gc.class("Tmp", { __del = function(self) hostile_del(self) end })
    local o = C(); o.cls = C; pool[R(NS)] = o
  end },
  { 1, "verify", inner = true, function()
    -- the heap must verify from inside hooks too (a finalizer run by a
    -- refcount chain release, a callback, a Lua __gc)
    local good, msg = gc._verify()
    if not good then fail("heap verification failed inside a hook", msg) end
  end },
  { 1, "enable", function() if chance(4) then gc.disable() else gc.enable() end end },
}
local total_w = 0
for _, a in ipairs(A) do total_w = total_w + a[1] end

function act()
  if depth > MAXD then return end
  local w = R(total_w)
  for _, a in ipairs(A) do
    w = w - a[1]
    if w <= 0 then
      if (a.thread and AVOID.thread and depth > 0) or (a.tracer and AVOID.tracer) or (a.inner and AVOID.verify) then return end
      note(a[2])
      local ok, e = pcall(a[3])
      if not ok then
        if not ok_error(e) then fail("unexpected error in " .. a[2], e) end
        stats.clean = stats.clean + 1
        if ERRSTATS then
          local m = tostring(e):gsub("^[^:]*:%d+: ", ""):sub(1, 50)
          ERRSTATS[m] = (ERRSTATS[m] or 0) + 1
        end
      end
      return
    end
  end
end

-- Lua's own collector: per seed, from lazy to one that finishes a cycle
-- in every step (so Lua __gc and handle __gc run at nearly any allocation);
-- or generational with minor collections every 1-5% of growth, which run
-- the young garbage's finalizers all at once inside whatever allocates
-- (the shape that found C()'s unpinned class: spec/create_spec.lua)
if R(3) == 1 then
  collectgarbage("generational", R(1, 5), 100)
else
  collectgarbage("incremental", ({ 200, 100, 50, 10 })[R(4)], ({ 100, 200, 400, 1000 })[R(4)], R(0, 13))
end
gc.set_threshold(({ 1, 2, 10, 100 })[R(4)])

for i = 1, OPS do
  stats.ops = i
  depth = 0
  -- hostile code may release the reachable containers: renew them
  if not pcall(gc.id, keep) then keep = gc.new_list() end
  if not pcall(gc.id, kd) then kd = gc.new_dict() end
  act()
  if unexpected_in_hook then fail("unexpected error reported from a hook", unexpected_in_hook) end
  local good, msg = gc._verify()
  if not good then fail("heap verification failed", msg) end
end
pcall(tm.stop)
if ERRSTATS then
  local t = {}
  for m, n in pairs(ERRSTATS) do t[#t + 1] = ("%6d %s"):format(n, m) end
  table.sort(t)
  io.stderr:write(table.concat(t, "\n"), "\n")
end
print(("hostile ok %d ops, %d hook calls, %d unraisable, %d clean errors"):format(
  stats.ops, stats.hooks, stats.unraisable, stats.clean))
-- close the state: handles die, their finalizers run their hostile code
-- against a closing heap
os.exit(0, true)
