#!/usr/bin/env bash
# The version is stated once, as PYGC_VERSION in lib/pygc.h.  Check that
# everything derived from it agrees: the Makefile's VERSION, the rockspec's
# file name and version, the pkg-config files, gc._VERSION of the built
# module, and a CHANGELOG.md section.  Prints one line per check; exits 1 on
# the first disagreement.
set -u
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
fail() { echo "version: $*" >&2; exit 1; }

v=$(sed -n 's/^#define PYGC_VERSION "\([^"]*\)".*/\1/p' lib/pygc.h)
[ -n "$v" ] || fail "no PYGC_VERSION in lib/pygc.h"
echo "lib/pygc.h: $v"

mv=$(make -s --no-print-directory print-version)
[ "$mv" = "$v" ] || fail "Makefile VERSION '$mv' differs from lib/pygc.h '$v'"
echo "Makefile: $mv"

specs=$(ls pygc-*.rockspec 2>/dev/null)
[ "$specs" = "pygc-$v-1.rockspec" ] || fail "rockspec(s) '$specs', expected pygc-$v-1.rockspec (run make rockspec)"
rv=$($LUA -e "local env = {} ; assert(loadfile('$specs', 't', env))()
  print(env.package .. ' ' .. env.version .. ' ' .. env.source.url .. ' ' .. env.source.dir)")
[ "$rv" = "pygc $v-1 file://pygc-$v.tar.gz pygc-$v" ] || fail "rockspec says '$rv'"
echo "rockspec: $rv"

for pc in pygc pygc-lua; do
  rm -f "build/$pc.pc"
  make -s "build/$pc.pc" >/dev/null || fail "cannot make build/$pc.pc"
  pv=$(sed -n 's/^Version: //p' "build/$pc.pc")
  [ "$pv" = "$v" ] || fail "build/$pc.pc says Version: '$pv'"
  echo "$pc.pc: $pv"
done
grep -q "^Requires: pygc = $v," build/pygc-lua.pc || fail "pygc-lua.pc does not require pygc = $v"

lv=$(LUA_CPATH="./?.so;;" $LUA -e 'print(require("pygc")._VERSION)') || fail "cannot load ./pygc.so"
[ "$lv" = "$v" ] || fail "gc._VERSION is '$lv'"
echo "gc._VERSION: $lv"

grep -q "^## $v\b" CHANGELOG.md || fail "CHANGELOG.md has no '## $v' section"
echo "CHANGELOG.md: ## $v"
echo "version $v everywhere"
