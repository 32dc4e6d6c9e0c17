-- luacheck over the Lua in the tree (make test runs `luacheck .`):
-- binding/, spec/, examples/, bench/.  Lua 5.4; the specs run under busted.
std = "lua54"
include_files = { "binding/**/*.lua", "spec/**/*.lua", "examples/**/*.lua", "bench/**/*.lua", ".busted", ".luacheckrc" }
exclude_files = { "build/", "build-asan/", "build-vg/" }
max_line_length = false
files["spec/"] = { std = "+busted" }
-- The specs, examples and benchmarks hand objects to the collector by
-- dropping references (`x = nil`, a value assigned and never read: 311) and
-- keep objects alive in locals named `keep` that nothing reads.
local gc_habits = { "311", "211/keep", "231/keep", "241/keep", "212/self" }
files["spec/"].ignore = gc_habits
files["examples/"] = { ignore = gc_habits }
files["bench/"] = { ignore = gc_habits }
-- leak_hunt's cache is a global on purpose: why_alive reports _G.app.cache
files["examples/leak_hunt.lua"] = { globals = { "app" } }
files["examples/leak_report.lua"] = { globals = { "app" } }
-- globals the specs set on purpose: roots that Lua reaches from _G
files["spec/toolkit_spec.lua"] = { globals = { "__why_cache" } }
files["spec/crossheap_spec.lua"] = { globals = { "ROOT", "HOLDER" } }
files["spec/lifetime_spec.lua"] = { globals = { "KEEP" } }
