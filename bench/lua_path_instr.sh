#!/bin/sh
# Instructions per Lua-path operation (issue 16), the deterministic figure:
# each operation runs under callgrind at N and 2N iterations; the difference
# over N is one operation's cost, startup cancelled.  Lua seeds its string
# hashes afresh in every run, so a metatable lookup's cost varies a little
# from run to run: each count is the median of REPS runs.  Prints pygc, floor
# (bench/floor.c), a plain table, and the ratio pygc / floor.
#   sh bench/lua_path_instr.sh [N [REPS]]   (make bench-lua-instr; needs valgrind)
# From the top of the tree, after `make pygc.so build/floor.so`.
set -e
N=${1:-100000}
REPS=${2:-3}
LUA=${LUA:-lua5.4}
BUILD=${BUILD:-build}
OPS=${OPS:-"read_item read_attr read_method write_attr"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LUA_CPATH="./$BUILD/?.so;./?.so;;"
irs() { # op kind n -> instructions of the whole run, the median of REPS runs
  r=0
  while [ $r -lt "$REPS" ]; do
    rm -f "$tmp/cg"
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$LUA" bench/lua_path_op.lua "$1" "$2" "$3" >/dev/null 2>&1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg"
    r=$((r + 1))
  done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
per_op() { # op kind -> instructions per operation (fails when a run did)
  a=$(irs "$1" "$2" "$N")
  b=$(irs "$1" "$2" $((2 * N)))
  case "$a$b" in '' | *[!0-9]*) echo "no count for $1 on $2 (did valgrind run?)" >&2; return 1 ;; esac
  echo $(( (b - a) / N ))
}
echo "Lua path, instructions per operation (callgrind, N = $N and 2N, medians of $REPS runs)"
echo "| operation | pygc | floor | plain table | pygc / floor |"
echo "|---|---|---|---|---|"
for op in $OPS; do
  p=$(per_op "$op" pygc) || exit 1
  f=$(per_op "$op" floor) || exit 1
  t=$(per_op "$op" table) || exit 1
  r=$(awk -v p="$p" -v f="$f" 'BEGIN { printf "%.2f", p / f }')
  echo "| $op | $p | $f | $t | $r |"
done
