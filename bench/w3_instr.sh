#!/bin/sh
# Instructions per operation for creation and W3/W4 through Lua (issue 16),
# from callgrind (deterministic): each OP runs at N1 and N2 and the
# difference is divided by N2 - N1, so startup cancels out.
#   bench/w3_instr.sh [N1 N2 [OP...]]      (after make and make build/floor.so)
# Ratios printed: create against the floor (bench/floor.c), W3/W4 against
# plain Lua tables (bench/w_lua.lua's shapes).
N1=${1:-50000}; N2=${2:-100000}
[ $# -ge 2 ] && shift 2
OPS=${*:-floor list dict inst w3_inst lua_w3_inst w3_list lua_w3_list}
BUILD=${BUILD:-build}
export LUA_CPATH="./$BUILD/?.so;./?.so;;"
tmp=$(mktemp -d)
ir() { # OP N -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" lua5.4 bench/w3_instr.lua "$1" "$2" >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; exit 1; }
  sed -n 's/^summary: *//p' "$tmp/cg"
}
for op in $OPS; do
  a=$(ir "$op" "$N1"); b=$(ir "$op" "$N2")
  echo "$op $(( (b - a) / (N2 - N1) ))"
done | tee "$tmp/out"
awk '{v[$1] = $2} END {
  if (v["floor"]) for (k in v) if (k == "list" || k == "dict" || k == "inst") printf "create %s / floor: %.2f\n", k, v[k] / v["floor"]
  split("w3_inst w3_list w4_inst w4_list", w, " ")
  for (i = 1; i <= 4; i++) if (v[w[i]] && v["lua_" w[i]]) printf "%s / plain Lua: %.2f\n", w[i], v[w[i]] / v["lua_" w[i]]
}' "$tmp/out"
rm -rf "$tmp"
