package = "pygc"
version = "0.1.0-1"
source = {
  url = "git+file:///dev/null",
}
description = {
  summary = "A Python-style garbage-collected object heap for Lua 5.4",
  detailed = [[
pygc is a C11 heap of reference-counted lists, dicts, tuples, strings and
class instances with CPython's generational cycle collector (finalizers
with PEP 442 semantics, resurrection, uncollectables, debug flags, stats,
callbacks, freeze), and every function of Python's gc module, for Lua.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "builtin",
  modules = {
    pygc = {
      sources = {
        "binding/functions.c", "binding/handles.c", "binding/hooks.c", "binding/lpygc.c",
        "binding/metamethods.c", "binding/tracer.c", "binding/luavalues.c", "lib/cross.c",
        "lib/dict.c", "lib/gc.c", "lib/heap.c", "lib/instance.c", "lib/introspect.c",
        "lib/list.c", "lib/repr.c", "lib/tuple.c", "lib/value.c",
        "lib/weakref.c", "binding/weakrefs.c",
      },
      incdirs = { "lib", "binding" },
      libraries = { "m" },
      defines = {},
    },
    ["pygc.util"] = "binding/pygc/util.lua",
    ["pygc.weakref"] = "binding/pygc/weakref.lua",
    ["pygc.tracemalloc"] = "binding/pygc/tracemalloc.lua",
    ["pygc.objgraph"] = "binding/pygc/objgraph.lua",
    ["pygc.monitor"] = "binding/pygc/monitor.lua",
  },
  copy_directories = {},
}
