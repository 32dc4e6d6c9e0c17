-- The version lives in lib/pygc.h (PYGC_VERSION); this file's name and V
-- follow it (`make rockspec` renames, `make test` checks they agree).
local V = "0.1.0"
rockspec_format = "3.0"
package = "pygc"
version = V .. "-1"
-- The release tarball `make dist` writes (build/pygc-V.tar.gz): `luarocks
-- build` this rockspec beside it, or `luarocks install` the .src.rock that
-- `make src-rock` packs with it.  `luarocks make` in the tree fetches nothing.
source = {
  url = "file://pygc-" .. V .. ".tar.gz",
  dir = "pygc-" .. V,
}
description = {
  summary = "A Python-style garbage-collected object heap for Lua 5.4",
  detailed = [[
pygc is a C11 heap of reference-counted lists, dicts, tuples, strings and
class instances with CPython's generational cycle collector (finalizers
with PEP 442 semantics, resurrection, uncollectables, debug flags, stats,
callbacks, freeze), and every function of Python's gc module, for Lua.
]],
  homepage = "https://pygc.invalid/",
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- The Makefile holds the source list: luarocks drives it with its own
-- compiler flags and directories.
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    -- warnings stay on, but another compiler's new ones do not stop an install
    WARN = "-std=c11 -Wall -Wextra",
    LUA_INC = "-I$(LUA_INCDIR)",
    LUA = "$(LUA)",
  },
  install_target = "rock-install",
  install_variables = {
    ROCK_CMOD = "$(LIBDIR)",
    ROCK_LMOD = "$(LUADIR)",
  },
  copy_directories = { "doc" },
}
-- `luarocks test`: the busted specs under Lua 5.4 (.busted picks the
-- interpreter and the paths); arguments go to busted.
test = {
  type = "command",
  command = "make -s pygc.so && busted",
}
