-- The toolkit, feature for feature with objgraph and tracemalloc (issue 17):
-- growth, new ids, at, chains, leaks, rendered graphs with labels, Lua
-- values and Lua roots; reset_peak, dump/load, Filter and DomainFilter;
-- argument errors at the caller; progress callbacks.
local S = require "spec.support"
local gc = S.gc
local objgraph = require "pygc.objgraph"
local tracemalloc = require "pygc.tracemalloc"

local SPEC = "toolkit2_spec%.lua"

-- The error of fn(), which must fail, without its position; the position
-- must be the caller's, a line of fn itself in this file (not a line
-- inside the library).
local function error_in(fn)
  local info = debug.getinfo(fn, "S")
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  err = tostring(err)
  local where = err:match("^(.-:%d+): ")
  assert.is_not_nil(where, "no position in: " .. err)
  local at = tonumber(where:match(":(%d+)$"))
  assert.matches(SPEC .. ":%d+$", where)
  assert(at >= info.linedefined and at <= info.lastlinedefined,
    ("raised at %s, outside lines %d-%d"):format(where, info.linedefined, info.lastlinedefined))
  return (err:gsub("^.-:%d+: ", ""))
end

local function has_dot() return os.execute("command -v dot >/dev/null 2>&1") end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("objgraph: counting and growth", function()
  before_each(S.reset)
  after_each(S.verify)

  it("typestats, count, by_type and most_common_types see Lua values too, with filter and progress", function()
    -- other specs' classes may still hold methods (Lua functions) in the heap
    local base = objgraph.typestats()
    local G = gc.class("Gadget")
    local keep = {}
    for i = 1, 7 do keep[i] = G() end
    local t = {}
    local holder = gc.new_list{ t, function() end }
    local stats = objgraph.typestats()
    assert.are.equal(7, stats.Gadget)
    assert.are.equal(1, stats["Lua table"] - (base["Lua table"] or 0))
    assert.are.equal(1, stats["Lua function"] - (base["Lua function"] or 0))
    local only = objgraph.typestats{ filter = function(o) return gc.type(o) == "Gadget" end }
    assert.are.same({ Gadget = 7 }, only)
    assert.are.equal(7, objgraph.count("Gadget"))
    assert.are.equal(2, objgraph.count("Gadget", { objects = { keep[1], keep[2], holder } }))
    assert.are.same({ { "Gadget", 7 } }, objgraph.most_common_types(1))
    local calls = {}
    local function progress(phase, done, total) calls[#calls + 1] = { phase, done, total } end
    local list = objgraph.by_type("Gadget", { progress = progress })
    assert.are.equal(7, #list)
    local last = calls[#calls]
    assert.are.equal("scan", last[1])
    assert.are.equal(last[3], last[2]) -- the final call: done == total
    assert.are.equal(#gc.get_objects(), last[3])
  end)

  it("growth reports increases over each type's peak, as objgraph", function()
    local peaks = {}
    local P = gc.class("Peaky") -- a class is a heap object too ('type'): made before the first count
    objgraph.growth(0, { peak_stats = peaks })
    local keep = { P(), P(), P() }
    assert.are.same({ { "Peaky", 3, 3 } }, objgraph.growth(10, { peak_stats = peaks }))
    assert.are.equal(3, peaks.Peaky)
    keep[3] = nil
    S.collect_all()
    assert.are.same({}, objgraph.growth(10, { peak_stats = peaks })) -- fell to 2
    keep[3] = P()
    assert.are.same({}, objgraph.growth(10, { peak_stats = peaks })) -- back to 3: not above the peak
    keep[4] = P()
    assert.are.same({ { "Peaky", 4, 1 } }, objgraph.growth(10, { peak_stats = peaks }))
    assert.are.equal(4, #keep)
    -- growth collects first: a cycle Lua dropped is not growth
    objgraph.growth(0)
    do local c = gc.new_list(); c[1] = c end
    assert.are.same({}, objgraph.growth())
  end)

  it("show_growth prints what growth returns, through write", function()
    objgraph.show_growth(0, false)
    local Q = gc.class("Quill")
    local keep = { Q(), Q() }
    local lines = {}
    local g = objgraph.show_growth(5, function(l) lines[#lines + 1] = l end)
    assert.are.same({ "Quill", 2, 2 }, g[1])
    assert.matches("^Quill%s+2%s+%+2$", lines[1])
    assert.is_not_nil(keep)
  end)

  it("get_new_ids gives the ids made since the last call, and at_addrs the objects", function()
    objgraph.get_new_ids{ write = false }
    local N = gc.class("Newbie")
    local keep = { N(), N(), gc.new_list() }
    local out = {}
    local new, rows = objgraph.get_new_ids{ write = function(l) out[#out + 1] = l end }
    local ids = {}
    for id in pairs(new.Newbie) do ids[#ids + 1] = id end
    table.sort(ids)
    local want = { gc.id(keep[1]), gc.id(keep[2]) }
    table.sort(want)
    assert.are.same(want, ids)
    assert.is_true(new.list[gc.id(keep[3])])
    local objs = objgraph.at_addrs(new.Newbie)
    assert.are.equal(2, #objs)
    assert.are.equal("Newbie", gc.type(objs[1]))
    assert.matches("Type%s+Old_ids%s+Current_ids%s+New_ids%s+Count_Deltas", out[2])
    local row
    for _, r in ipairs(rows) do if r[1] == "Newbie" then row = r end end
    assert.are.same({ "Newbie", 0, 2, 2, 2 }, row)
    assert.are.equal(rows[1][5], math.max(rows[1][5], rows[#rows][5])) -- sorted by deltas
    -- skip_update returns the last result without a scan
    assert.are.equal(new, (objgraph.get_new_ids{ skip_update = true }))
    -- nothing new since
    local again = objgraph.get_new_ids{ write = false }
    assert.are.same({}, again.Newbie)
    local by_old = select(2, objgraph.get_new_ids{ write = false, sortby = "old", limit = 2 })
    assert.are.equal(2, #by_old)
    assert.is_true(by_old[1][2] >= by_old[2][2])
  end)

  it("at finds the object with an id, Lua values by objgraph.id, nil for none", function()
    local o = gc.new_dict{ a = 1 }
    assert.is_true(rawequal(o, objgraph.at(gc.id(o))))
    assert.are.equal(gc.id(o), objgraph.id(o))
    local t = {}
    local l = gc.new_list{ t }
    local tid = objgraph.id(t)
    assert.is_true(tid < 0)
    assert.are.equal(tid, objgraph.id(t)) -- stable
    assert.is_true(rawequal(t, objgraph.at(tid)))
    assert.is_nil(objgraph.at(12345))
    assert.is_not_nil(l)
  end)
end)

describe("objgraph: leaks and chains", function()
  before_each(S.reset)
  after_each(S.verify)

  it("get_leaking_objects leaves out gc.garbage and what the heap holds", function()
    local root = gc.new_list()
    local t = {}
    root[1] = gc.new_list{ t }
    local found = {}
    local calls = 0
    for _, o in ipairs(objgraph.get_leaking_objects(nil, { progress = function() calls = calls + 1 end })) do
      found[#found + 1] = o
      assert.is_false(rawequal(o, gc.garbage))
      assert.is_false(rawequal(o, root[1]))
      assert.is_false(rawequal(o, t))
    end
    local has_root = false
    for _, o in ipairs(found) do if rawequal(o, root) then has_root = true end end
    assert.is_true(has_root)
    assert.is_true(calls >= 1)
    -- with objects given: only their referents count (as objgraph)
    local given = gc.new_list{ root, root[1] }
    local only = objgraph.get_leaking_objects(given)
    assert.are.equal(1, #only)
    assert.is_true(rawequal(root, only[1]))
    assert.are.same({ root }, objgraph.get_leaking_objects({ root }))
  end)

  it("find_ref_chain walks referents; show_chain draws only the chain", function()
    local leaf = gc.new_list()
    local mid = gc.new_dict{ leaf = leaf, other = gc.new_list() }
    local top = gc.new_list{ mid, gc.new_list() }
    local chain = objgraph.find_ref_chain(top, function(o) return rawequal(o, leaf) end)
    assert.are.equal(3, #chain)
    assert.is_true(rawequal(chain[1], top) and rawequal(chain[3], leaf))
    assert.is_nil(objgraph.find_ref_chain(top, function() return false end))
    local dot, info = objgraph.show_chain(chain, { backrefs = false })
    assert.are.equal(3, info.nodes)
    assert.are.equal(2, info.edges)
    assert.matches('label="%[1%]"', dot)
    assert.matches('label="%[\\"leaf\\"%]"', dot)
    local back = objgraph.find_backref_chain(leaf, function(o) return rawequal(o, top) end)
    local dot2, info2 = objgraph.show_chain(back, {})
    assert.are.equal(3, info2.nodes)
    assert.is_not_nil(dot2)
    -- extra_ignore: no chain through mid
    assert.is_nil(objgraph.find_ref_chain(top, function(o) return rawequal(o, leaf) end, 20, { mid }))
  end)
end)

describe("objgraph: graphs", function()
  before_each(S.reset)
  after_each(S.verify)

  it("labels edges with list indexes, dict keys and attribute names, and draws Lua values", function()
    local C = gc.class("Holder")
    local t = { 1, 2 }
    local f = function() return t end
    local h = C()
    h.child = gc.new_list{ t }
    h.fn = f
    local d = gc.new_dict{ ["key with space"] = h }
    local dot, info = objgraph.show_refs(d, { max_depth = 4 })
    assert.matches('label="%[\\"key with space\\"%]"', dot)
    assert.matches('label="child"', dot)
    assert.matches('label="fn"', dot)
    assert.matches('label="%[1%]"', dot)
    assert.matches('label="Lua table\\n2 keys"', dot)
    assert.matches('label="Lua function\\n[^"]*' .. SPEC .. ':%d+"', dot)
    assert.are.equal(6, info.nodes) -- dict, Holder, its class, list, table, function
  end)

  it("a Lua table in the heap draws the handles it holds, with their keys", function()
    local inner = gc.new_list()
    local t = { slot = inner }
    local outer = gc.new_list{ t }
    local dot, info = objgraph.show_refs(outer, { max_depth = 3 })
    assert.matches('label="%.slot"', dot)
    assert.are.equal(3, info.nodes)
    local back, binfo = objgraph.show_backrefs({ t }, { max_depth = 1, lua_roots = false })
    assert.are.equal(2, binfo.nodes) -- t and the list holding it
    assert.matches("Lua table", back)
  end)

  it("too_many limits the references drawn from each node and says how many were left", function()
    local big = gc.new_list()
    for i = 1, 25 do big[i] = gc.new_list() end
    local dot, info = objgraph.show_refs(big, { too_many = 5 })
    assert.are.equal(6, info.nodes)
    assert.matches('label="20 more references"', dot)
    assert.are.equal(1, info.skipped_nodes)
  end)

  it("refuses a graph past max_nodes with a clear message, at the caller", function()
    local big = gc.new_list()
    for i = 1, 40 do big[i] = gc.new_list{ gc.new_list() } end
    local path = os.tmpname()
    os.remove(path)
    local msg = error_in(function()
      objgraph.show_refs(big, { too_many = 100, max_nodes = 30, filename = path .. ".png" })
    end)
    assert.matches("^show_refs: the graph has more than 30 nodes %(max_nodes%)", msg)
    assert.is_nil(io.open(path .. ".png")) -- nothing reached dot
    local _, info = objgraph.show_refs(big, { too_many = 100, max_nodes = 81 })
    assert.are.equal(81, info.nodes)
  end)

  it("renders straight to .svg, .png and .pdf with dot, and writes DOT for .dot", function()
    local a = gc.new_list(); a[1] = a
    local base = os.tmpname()
    local text = objgraph.show_refs(a, { filename = base .. ".dot" })
    assert.are.equal(text, read(base .. ".dot"))
    os.remove(base .. ".dot")
    if not has_dot() then
      local msg = error_in(function() objgraph.show_refs(a, { filename = base .. ".svg" }) end)
      assert.matches("needs Graphviz's dot", msg)
      os.remove(base)
      return
    end
    objgraph.show_refs(a, { filename = base .. ".svg" })
    assert.matches("<svg", read(base .. ".svg"))
    objgraph.show_backrefs(a, { filename = base .. ".png" })
    assert.are.equal("\137PNG", read(base .. ".png"):sub(1, 4))
    objgraph.show_refs(a, { filename = base .. ".pdf" })
    assert.are.equal("%PDF", read(base .. ".pdf"):sub(1, 4))
    objgraph.show_refs(a, { filename = base .. ".out", format = "svg" })
    assert.matches("<svg", read(base .. ".out"))
    for _, ext in ipairs{ ".svg", ".png", ".pdf", ".out" } do os.remove(base .. ext) end
    local msg = error_in(function() objgraph.show_refs(a, { filename = base .. ".nosuchformat" }) end)
    assert.matches("^show_refs: dot could not render", msg)
    os.remove(base .. ".nosuchformat")
    os.remove(base)
  end)

  it("says what is missing when dot is not on the PATH", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('package.cpath = "./?.so;" .. package.cpath\n')
    f:write('package.path = "./binding/?.lua;./binding/?/init.lua;" .. package.path\n')
    f:write('local gc = require "pygc"; local og = require "pygc.objgraph"\n')
    f:write('local ok, e = pcall(og.show_refs, gc.new_list(), { filename = os.tmpname() .. ".png" })\n')
    f:write('print(ok, e)\n')
    f:close()
    local lua = os.getenv("PYGC_LUA") or "lua5.4"
    local exe = io.popen("command -v " .. lua):read("l")
    local p = io.popen("PATH=/nonexistent " .. exe .. " " .. script .. " 2>&1")
    local out = p:read("a")
    p:close()
    os.remove(script)
    assert.matches("false\tshow_refs: rendering .* needs Graphviz's dot on the PATH", out)
  end)

  it("show_backrefs draws the Lua roots that hold the objects: globals and locals", function()
    local N = gc.class("Rooted")
    local target = N()
    _G.app_for_spec = { cache = gc.new_list{ target } }
    local other = gc.new_dict{ t = target } -- a local of this function
    local dot, info = objgraph.show_backrefs(target, { max_depth = 2 })
    _G.app_for_spec = nil
    assert.matches('label="_G%.app_for_spec%.cache"', dot)
    assert.matches("label=\"local 'other' %(", dot)
    assert.is_nil(dot:find("local 'target'", 1, true)) -- the question, not the answer
    assert.is_true(info.roots >= 2)
    local _, plain = objgraph.show_backrefs(target, { max_depth = 2, lua_roots = false })
    assert.are.equal(0, plain.roots)
    assert.is_not_nil(other)
  end)

  it("graph export reports progress", function()
    local l = gc.new_list()
    for i = 1, 5 do l[i] = gc.new_list() end
    local phases = {}
    objgraph.show_backrefs(l[1], { progress = function(phase, done) phases[phase] = done end })
    assert.is_not_nil(phases.graph)
    assert.is_not_nil(phases.roots)
    local graph
    objgraph.show_refs(l, { progress = function(phase, done) if phase == "graph" then graph = done end end })
    assert.are.equal(6, graph)
  end)
end)

describe("objgraph: argument errors name the function and point at the caller", function()
  before_each(S.reset)
  after_each(S.verify)

  it("wrong types", function()
    assert.are.equal("bad argument #1 to 'show_growth' (number expected, got string)",
      error_in(function() objgraph.show_growth("x") end))
    assert.are.equal("bad argument #1 to 'growth' (number has no integer representation)",
      error_in(function() objgraph.growth(1.5) end))
    assert.are.equal("bad argument #1 to 'count' (string expected, got number)",
      error_in(function() objgraph.count(3) end))
    assert.are.equal("bad argument #2 to 'by_type' (table expected, got string)",
      error_in(function() objgraph.by_type("x", "y") end))
    assert.are.equal("bad argument #1 to 'at' (number expected, got table)", error_in(function() objgraph.at({}) end))
    assert.are.equal("bad argument #1 to 'at_addrs' (table expected, got nil)",
      error_in(function() objgraph.at_addrs() end))
    assert.matches("^bad argument #1 to 'get_new_ids' %(sortby: ",
      error_in(function() objgraph.get_new_ids{ sortby = "size" } end))
    assert.are.equal("bad argument #1 to 'show_refs' (pygc.object or table of objects expected, got number)",
      error_in(function() objgraph.show_refs(5) end))
    assert.are.equal("bad argument #2 to 'show_backrefs' (max_depth: number expected, got string)",
      error_in(function() objgraph.show_backrefs(gc.new_list(), { max_depth = "deep" }) end))
    assert.are.equal("bad argument #2 to 'show_refs' (progress: function expected, got number)",
      error_in(function() objgraph.show_refs(gc.new_list(), { progress = 1 }) end))
    assert.are.equal("bad argument #1 to 'find_backref_chain' (object expected, got number)",
      error_in(function() objgraph.find_backref_chain(1) end))
    assert.are.equal("bad argument #2 to 'find_ref_chain' (function expected, got nil)",
      error_in(function() objgraph.find_ref_chain(gc.new_list()) end))
    assert.are.equal("bad argument #1 to 'show_chain' (no chain to draw)",
      error_in(function() objgraph.show_chain({}) end))
    assert.are.equal("bad argument #1 to 'get_leaking_objects' (objects: table expected, got string)",
      error_in(function() objgraph.get_leaking_objects("all") end))
    assert.are.equal("bad argument #1 to 'id' (object expected, got number)", error_in(function() objgraph.id(1) end))
    local r = gc.new_list()
    gc.release(r)
    assert.are.equal("bad argument #1 to 'show_refs' (pygc.object or table of objects expected, got pygc.object)",
      error_in(function() objgraph.show_refs(r) end))
    -- numbers in strings are accepted, as luaL_checkinteger does
    assert.are.same({}, objgraph.most_common_types("0", { objects = {} }))
  end)

  it("an error raised by a progress callback propagates as it is", function()
    local ok, err = pcall(objgraph.typestats, { progress = function() error({ cancelled = true }) end })
    assert.is_false(ok)
    assert.is_true(err.cancelled)
  end)
end)

-- ---- tracemalloc --------------------------------------------------------------

describe("tracemalloc: globs", function()
  -- expectations from Python's fnmatch.fnmatchcase
  local cases = {
    { "*.lua", "spec/a.lua", true }, { "*.lua", "a.luac", false }, { "*.lua", "dir/x/y.lua", true },
    { "a?c", "abc", true }, { "a?c", "ac", false }, { "a?c", "a\195\169c", true }, { "a??c", "a\195\169c", false },
    { "[abc]x", "bx", true }, { "[abc]x", "dx", false }, { "[!a-c]", "d", true }, { "[!a-c]", "b", false },
    { "[!a-c]", "\195\169", true }, { "[]]", "]", true }, { "[!]]", "]", false }, { "[!]]", "a", true },
    { "a[", "a[", true }, { "a[b", "a[b", true }, { "[z-a]", "m", false }, { "[!z-a]", "m", true },
    { "%.^$(", "%.^$(", true }, { "%.^$(", "x.^$(", false }, { "[%-]", "-", true }, { "[%-]", "%", true },
    { "[a-]", "-", true }, { "[-a]", "-", true }, { "[!-/]", ".", true }, { "[!-/]", "a", true },
    { "*", "a\nb", true }, { "a*b*c", "axxbyyc", true }, { "a*b*c", "axxbyy", false }, { "[.]*", ".lua", true },
    { "x.lua", "xylua", false }, { "a+b", "a+b", true }, { "a+b", "aab", false }, { "[^a]", "^", true },
    { "[^a]", "b", false },
  }
  it("translate to Lua patterns that match as fnmatch does", function()
    for _, c in ipairs(cases) do
      local got = c[2]:match(tracemalloc.glob_to_pattern(c[1])) ~= nil
      assert(got == c[3], ("glob %q on %q: expected %s"):format(c[1], c[2], tostring(c[3])))
    end
  end)
end)

describe("tracemalloc: filters, dump and load, reports", function()
  before_each(S.reset)
  after_each(function() tracemalloc.stop(); S.verify() end)

  local function snap()
    return tracemalloc.Snapshot({
      { traceback = { { filename = "app/a.lua", lineno = 10 }, { filename = "lib/b.lua", lineno = 5 } },
        size = 100, count = 2 },
      { traceback = { { filename = "lib/b.lua", lineno = 7 } }, size = 40, count = 1, domain = 0 },
      { traceback = { { filename = "app/c.lua", lineno = 10 } }, size = 30, count = 3, domain = 7 },
      { traceback = {}, size = 8, count = 1, domain = 7 },
    }, 2)
  end
  local function sizes(s)
    local out = {}
    for _, t in ipairs(s.traces) do out[#out + 1] = t.size end
    return out
  end

  it("Filter and DomainFilter keep and drop as Python's", function()
    local s = snap()
    local F, D = tracemalloc.Filter, tracemalloc.DomainFilter
    assert.are.same({ 100, 40, 30, 8 }, sizes(s:filter_traces{}))
    assert.are.same({ 100, 30 }, sizes(s:filter_traces{ F(true, "app/*") }))
    assert.are.same({ 40, 8 }, sizes(s:filter_traces{ F(false, "app/*") }))
    assert.are.same({ 100, 40 }, sizes(s:filter_traces{ F(true, "*/b.lua", nil, true) }))   -- any frame
    assert.are.same({ 40 }, sizes(s:filter_traces{ F(true, "*/b.lua") }))                  -- top frame only
    assert.are.same({ 100, 30 }, sizes(s:filter_traces{ F(true, "*", 10) }))               -- line 10
    assert.are.same({ 40, 8 }, sizes(s:filter_traces{ F(false, "*", 10) }))
    assert.are.same({ 30 }, sizes(s:filter_traces{ F(true, "app/*", nil, false, 7) }))    -- inclusive needs the domain
    assert.are.same({ 100, 40, 8 }, sizes(s:filter_traces{ F(false, "app/*", nil, false, 7) })) -- drops only domain 7's
    assert.are.same({ 30, 8 }, sizes(s:filter_traces{ D(true, 7) }))
    assert.are.same({ 100, 40 }, sizes(s:filter_traces{ D(false, 7) }))
    -- any inclusive, every exclusive
    assert.are.same({ 100 }, sizes(s:filter_traces{ F(true, "app/*"), F(true, "nothing"), D(false, 7) }))
    assert.are.same({ 8 }, sizes(s:filter_traces{ F(true, "<unknown>") })) -- no frame: "<unknown>", as Python
    local f = F(true, "x?.lua", 3, true, 1)
    assert.are.same({ true, "x?.lua", 3, true, 1 },
      { f.inclusive, f.filename_pattern, f.lineno, f.all_frames, f.domain })
    assert.are.equal(2, s:filter_traces{}.traceback_limit)
  end)

  it("filters live traces of this file", function()
    tracemalloc.start(2)
    local keep = { gc.new_list(), gc.new_dict{ a = 1 } }
    local s = tracemalloc.take_snapshot()
    assert.is_true(#s:filter_traces{ tracemalloc.Filter(true, "*toolkit2_spec.lua") }.traces >= 1)
    assert.are.equal(0,
      #s:filter_traces{ tracemalloc.Filter(true, "*toolkit2_spec.lua"), tracemalloc.DomainFilter(false, 0) }.traces)
    assert.is_not_nil(keep)
  end)

  it("dump and load round-trip exactly, odd filenames included", function()
    local weird = "dir with space/new\nline\0nul\255.lua"
    local s = tracemalloc.Snapshot({
      { traceback = { { filename = weird, lineno = 1 }, { filename = "", lineno = 0 } },
        size = 2 ^ 53 | 0, count = 5, domain = -3 },
      { traceback = {}, size = 0, count = 1 },
      { traceback = { { filename = "frame 9 9 end", lineno = 123456789 } }, size = 7, count = 1, domain = 1 },
    }, 17)
    local path = os.tmpname()
    s:dump(path)
    local back = tracemalloc.load(path)
    assert.are.equal(17, back.traceback_limit)
    assert.are.equal(#s.traces, #back.traces)
    for i, t in ipairs(s.traces) do
      local b = back.traces[i]
      assert.are.same({ t.size, t.count, t.domain }, { b.size, b.count, b.domain })
      assert.are.equal(#t.traceback, #b.traceback)
      for j, f in ipairs(t.traceback) do
        assert.are.equal(f.filename, b.traceback[j].filename)
        assert.are.equal(f.lineno, b.traceback[j].lineno)
      end
      assert.is_true(t.traceback == b.traceback)
    end
    -- loading the dump of a loaded snapshot gives the same bytes
    local path2 = os.tmpname()
    back:dump(path2)
    assert.are.equal(read(path), read(path2))
    assert.are.same(sizes(s:filter_traces{ tracemalloc.Filter(true,
      "dir*") }), sizes(back:filter_traces{ tracemalloc.Filter(true, "dir*") }))
    -- a real snapshot too, and statistics agree
    tracemalloc.start(3)
    local keep = {}
    for i = 1, 20 do keep[i] = gc.new_list{ i } end
    local live = tracemalloc.take_snapshot()
    live:dump(path)
    local again = tracemalloc.Snapshot.load(path)
    assert.are.equal(live:report("traceback"), again:report("traceback"))
    -- broken files are refused with the record that is wrong
    local f = assert(io.open(path, "rb")); local data = f:read("a"); f:close()
    f = assert(io.open(path, "wb")); f:write(data:sub(1, #data - 10)); f:close()
    local msg = error_in(function() tracemalloc.load(path) end)
    assert.matches("^load: .* is not a pygc tracemalloc snapshot %(record %d+: ", msg)
    os.remove(path); os.remove(path2)
    assert.matches("^load: cannot read", error_in(function() tracemalloc.load(path .. ".missing") end))
    assert.is_not_nil(keep)
  end)

  it("report and report_diff return strings", function()
    local s = snap()
    local r = s:report("lineno", 2)
    assert.are.equal(table.concat({
      "Top 2 lineno",
      "#1: app/a.lua:10: size=100 B, count=2, average=50 B",
      "#2: lib/b.lua:7: size=40 B, count=1, average=40 B",
      "2 other: size=38 B, count=4",
      "Total: size=178 B, count=7",
    }, "\n"), r)
    local empty = tracemalloc.Snapshot({}, 1)
    local d = s:report_diff(empty, "filename", 1)
    assert.are.equal(table.concat({
      "Top 1 differences by filename",
      "#1: app/a.lua:0: size=100 B (+100 B), count=2 (+2)",
      "Total: size=178 B (+178 B), count=7 (+7)",
    }, "\n"), d)
    assert.matches("^Top 0 lineno\nTotal: size=0 B, count=0$", empty:report())
  end)

  it("reset_peak sets the peak to the current size", function()
    tracemalloc.start()
    local keep = {}
    for i = 1, 50 do keep[i] = gc.new_list() end
    local _, peak1 = tracemalloc.get_traced_memory()
    assert.are.equal(50, #keep)
    keep = nil -- luacheck: ignore 311
    S.collect_all()
    local cur2, peak2 = tracemalloc.get_traced_memory()
    assert.are.equal(peak1, peak2)
    tracemalloc.reset_peak()
    local cur3, peak3 = tracemalloc.get_traced_memory()
    assert.are.equal(cur2, cur3)
    assert.are.equal(cur3, peak3)
    local small = { gc.new_list() }
    local cur4, peak4 = tracemalloc.get_traced_memory()
    assert.are.equal(cur4, peak4)
    assert.is_true(peak4 < peak1)
    assert.is_not_nil(small)
  end)

  it("argument errors name the function and point at the caller", function()
    local s = snap()
    assert.are.equal("bad argument #1 to 'start' (number expected, got string)",
      error_in(function() tracemalloc.start("many") end))
    assert.are.equal("bad argument #1 to 'start' (the number of frames must be in 1..32)",
      error_in(function() tracemalloc.start(0) end))
    assert.are.equal("bad argument #1 to 'Filter' (boolean expected, got number)",
      error_in(function() tracemalloc.Filter(1, "x") end))
    assert.are.equal("bad argument #2 to 'Filter' (string expected, got nil)",
      error_in(function() tracemalloc.Filter(true) end))
    assert.are.equal("bad argument #3 to 'Filter' (number expected, got string)",
      error_in(function() tracemalloc.Filter(true, "x", "y") end))
    assert.matches("^bad argument #2 to 'Filter' %(non%-ASCII",
      error_in(function() tracemalloc.Filter(true, "[\195\169]") end))
    assert.are.equal("bad argument #2 to 'DomainFilter' (number expected, got nil)",
      error_in(function() tracemalloc.DomainFilter(true) end))
    assert.are.equal("bad argument #1 to 'filter_traces' (filters[1]: Filter or DomainFilter expected, got table)",
      error_in(function() s:filter_traces{ {} } end))
    assert.are.equal(
      "bad argument #1 to 'statistics' (key_type must be 'filename', 'lineno' or 'traceback', got 'size')",
      error_in(function() s:statistics("size") end))
    assert.are.equal("bad argument #1 to 'compare_to' (Snapshot expected, got nil)",
      error_in(function() s:compare_to() end))
    assert.are.equal("calling 'report' on bad self (Snapshot expected, got number)",
      error_in(function() s.report(3) end))
    assert.are.equal("bad argument #1 to 'dump' (string expected, got number)", error_in(function() s:dump(1) end))
    assert.are.equal("bad argument #1 to 'get_object_traceback' (pygc.object expected, got table)",
      error_in(function() tracemalloc.get_object_traceback({}) end))
    assert.are.equal("take_snapshot: the tracemalloc module must be tracing memory to take a snapshot",
      error_in(function() tracemalloc.take_snapshot() end))
  end)
end)
