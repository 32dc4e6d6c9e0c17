#!/usr/bin/env bash
# The whole test run behind `make test`:
#   1. C tests of lib/ and busted specs, plain build
#   2. both again with ASan + UBSan (gcc's runtime, preloaded into lua5.4)
#   3. valgrind: the C tests, the specs (scaled down), and lua_close scripts,
#      with every unfreed byte counted as an error
# Ends with one line: "N passed, N failed".
# PYGC_QUICK=1 runs phase 1 only; PYGC_ONLY=valgrind runs phase 3 only.
set -u
cd "$(dirname "$0")/.."

LUA=${LUA:-lua5.4}
BUSTED="$LUA /usr/bin/busted"
PASSED=0
FAILED=0
LOG_DIR=${LOG_DIR:-build/logs}
mkdir -p "$LOG_DIR"

note() { printf '== %s\n' "$*"; }

# add the counts from a C test's "N passed, N failed" line
count_c() { # name logfile status
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
  if [ -z "$line" ]; then
    echo "   $1: no summary (exit $3)"; tail -n 20 "$2"; FAILED=$((FAILED + 1)); return
  fi
  local p f
  p=$(echo "$line" | cut -d' ' -f1); f=$(echo "$line" | cut -d' ' -f3)
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "   $1 exited $3"; tail -n 30 "$2"; fi
  echo "   $1: $p passed, $f failed"
  [ "$f" -ne 0 ] && grep -E 'FAIL|ERROR|Summary' "$2" | head -n 20
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
}

# add the counts from busted's "X successes / Y failures / Z errors" line
count_busted() { # name logfile status
  local line
  line=$(grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$2" | tail -n 1)
  if [ -z "$line" ]; then
    echo "   $1: no busted summary (exit $3)"; tail -n 30 "$2"; FAILED=$((FAILED + 1)); return
  fi
  local p f e
  p=$(echo "$line" | sed -E 's/^[^0-9]*([0-9]+) success.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
  e=$(echo "$line" | sed -E 's/.* ([0-9]+) errors?.*/\1/')
  f=$((f + e))
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "   $1 exited $3"; tail -n 30 "$2"; fi
  echo "   $1: $p passed, $f failed"
  [ "$f" -ne 0 ] && grep -A8 -E '^(Failure|Error) ' "$2" | head -n 60
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
}

# a check with one verdict (valgrind runs of scripts)
count_one() { # name status logfile
  if [ "$2" -eq 0 ]; then PASSED=$((PASSED + 1)); echo "   $1: ok"
  else FAILED=$((FAILED + 1)); echo "   $1: FAILED (exit $2)"; tail -n 40 "$3"; fi
}

run_specs() { # name cpath logfile [env...]
  local name=$1 cpath=$2 log=$3; shift 3
  env "$@" LUA_CPATH="$cpath;;" LUA_PATH="./binding/?.lua;./binding/?/init.lua;;" \
    ${WRAP:-} $BUSTED -o utfTerminal spec/ >"$log" 2>&1 </dev/null
  count_busted "$name" "$log" $?
}

phase_plain() {
  note "plain build: C tests and specs"
  for t in build/test_*; do
    [ -x "$t" ] || continue
    "$t" >"$LOG_DIR/$(basename "$t").log" 2>&1 </dev/null
    count_c "$(basename "$t")" "$LOG_DIR/$(basename "$t").log" $?
  done
  run_specs "specs" "./?.so" "$LOG_DIR/specs.log"
  for ex in examples/*.lua; do
    LUA_CPATH="./?.so;;" $LUA "$ex" >"$LOG_DIR/ex-$(basename "$ex").log" 2>&1 </dev/null
    count_one "example $ex runs" $? "$LOG_DIR/ex-$(basename "$ex").log"
  done
  make -s build/libpygc.so >/dev/null 2>&1
  bash tools/check_symbols.sh build >"$LOG_DIR/symbols.log" 2>&1 </dev/null
  count_one "nm: lib/ defines only pygc_-prefixed globals, exports no internals" $? "$LOG_DIR/symbols.log"
  # pygc.monitor's report in headless Chromium (skips, saying so, without chromium)
  python3 tools/browser_test.py >"$LOG_DIR/browser.log" 2>&1 </dev/null
  count_c "browser: the monitor's report in headless Chromium" "$LOG_DIR/browser.log" $?
  grep "skipped" "$LOG_DIR/browser.log" | sed "s/^ */   /"
  build/scene_host examples/host/scene.lua >"$LOG_DIR/scene_host.log" 2>&1 </dev/null
  count_one "examples/host: a C host type used from Lua, its cycles collected" $? "$LOG_DIR/scene_host.log"
  build/scene_host spec/host/toolkit_host.lua >"$LOG_DIR/toolkit_host.log" 2>&1 </dev/null
  count_one "a C host type seen by every introspection and toolkit function" $? "$LOG_DIR/toolkit_host.log"
  # install, then build programs outside the tree with pkg-config alone: the
  # core (pygc.pc) and a Lua host (pygc-lua.pc); they run without
  # LD_LIBRARY_PATH (the .pc files carry an rpath for this prefix)
  local prefix=$PWD/build/prefix out=$PWD/build/outside
  rm -rf "$prefix" "$out" && mkdir -p "$out" && cp spec/c/outside/outside.c spec/c/outside/outside_lua.c "$out/"
  make -s install PREFIX="$prefix" >"$LOG_DIR/install.log" 2>&1 </dev/null
  count_one "make install PREFIX=build/prefix" $? "$LOG_DIR/install.log"
  (cd "$out" && export PKG_CONFIG_PATH="$prefix/lib/pkgconfig" && unset LD_LIBRARY_PATH &&
    cc -std=c11 -Wall -Wextra -Werror outside.c $(pkg-config --cflags --libs pygc) -o outside && ./outside) \
    >"$LOG_DIR/outside.log" 2>&1 </dev/null
  count_one "pkg-config pygc: a C program outside the tree, shared libpygc found" $? "$LOG_DIR/outside.log"
  (cd "$out" && export PKG_CONFIG_PATH="$prefix/lib/pkgconfig" && unset LD_LIBRARY_PATH &&
    cc -std=c11 -Wall -Wextra -Werror outside_lua.c $(pkg-config --cflags --libs pygc-lua) -o outside_lua &&
    ./outside_lua) >"$LOG_DIR/outside_lua.log" 2>&1 </dev/null
  count_one "pkg-config pygc-lua: a Lua host outside the tree (lpygc.h), libraries found" $? "$LOG_DIR/outside_lua.log"
  bash tools/check_version.sh >"$LOG_DIR/version.log" 2>&1 </dev/null
  count_one "one version: lib/pygc.h, Makefile, rockspec, .pc files, gc._VERSION, CHANGELOG" $? "$LOG_DIR/version.log"
  if command -v ldoc >/dev/null; then
    make -s doc >"$LOG_DIR/doc.log" 2>&1 </dev/null
    count_one "make doc: the LDoc reference builds without warnings, every public function in it" $? "$LOG_DIR/doc.log"
  else
    echo "   ldoc missing (tools/install-deps.sh installs lua-ldoc)"; FAILED=$((FAILED + 1))
  fi
  if command -v luacheck >/dev/null; then
    luacheck -q . >"$LOG_DIR/luacheck.log" 2>&1 </dev/null
    count_one "luacheck: binding/ spec/ examples/ bench/" $? "$LOG_DIR/luacheck.log"
  else
    echo "   luacheck missing (tools/install-deps.sh installs lua-check)"; FAILED=$((FAILED + 1))
  fi
  if command -v luarocks >/dev/null; then
    local tree=$PWD/build/rocktree
    rm -rf "$tree"
    { luarocks --lua-version=5.4 make --tree "$tree" pygc-*.rockspec &&
      (cd /tmp && $LUA -e "package.cpath='$tree/lib/lua/5.4/?.so'; local gc = require 'pygc'
        assert(tostring(gc.new_list{1}) == '[1]')"); } >"$LOG_DIR/rock.log" 2>&1 </dev/null
    count_one "luarocks make builds the rock offline and it loads" $? "$LOG_DIR/rock.log"
    # the release path: make src-rock, then luarocks install of the .src.rock
    local tree2=$PWD/build/rocktree-src root=$PWD rock
    rm -rf "$tree2"
    { rock=$(make -s src-rock | tail -n 1) &&
      (cd /tmp && luarocks --lua-version=5.4 install --tree "$tree2" "$root/$rock") &&
      (cd /tmp && $LUA -e "package.cpath='$tree2/lib/lua/5.4/?.so'; package.path='$tree2/share/lua/5.4/?.lua'
        local gc = require 'pygc'; local util = require 'pygc.util'
        assert(tostring(gc.new_list{1}) == '[1]' and util.force_collect)"); } >"$LOG_DIR/src-rock.log" 2>&1 </dev/null
    count_one "make src-rock, then luarocks install of the .src.rock offline" $? "$LOG_DIR/src-rock.log"
    # the rockspec's test section (plain busted via .busted); one spec file here,
    # the whole suite ran above
    luarocks --lua-version=5.4 test -- spec/values_spec.lua >"$LOG_DIR/rock-test.log" 2>&1 </dev/null
    count_one "luarocks test runs the busted specs under Lua 5.4" $? "$LOG_DIR/rock-test.log"
  fi
}

phase_asan() {
  note "ASan + UBSan build: C tests and specs"
  if ! make -s asan >"$LOG_DIR/asan-build.log" 2>&1; then
    echo "   asan build failed"; tail -n 20 "$LOG_DIR/asan-build.log"; FAILED=$((FAILED + 1)); return
  fi
  local rt
  rt=$(gcc -print-file-name=libasan.so)
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  for t in build-asan/test_*; do
    [ -x "$t" ] || continue
    ASAN_OPTIONS=detect_leaks=1 "$t" >"$LOG_DIR/asan-$(basename "$t").log" 2>&1 </dev/null
    count_c "asan $(basename "$t")" "$LOG_DIR/asan-$(basename "$t").log" $?
  done
  # Lua and busted are not built with ASan; their own allocations are not
  # ours to judge here (valgrind checks leaks below), memory errors are.
  run_specs "asan specs" "./build-asan/?.so" "$LOG_DIR/asan-specs.log" \
    LD_PRELOAD="$rt" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 PYGC_SPEC_SCALE=0.2
  LD_PRELOAD="$rt" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 LUA_CPATH="./build-asan/?.so;;" \
    $LUA fuzz/cross_model.lua 60 7 "${XMODEL_ASAN_OPS:-20000}" >"$LOG_DIR/asan-cross_model.log" 2>&1 </dev/null
  count_one "asan cross-heap model test" $? "$LOG_DIR/asan-cross_model.log"
  grep "^cross_model:" "$LOG_DIR/asan-cross_model.log" | sed 's/^/   /'
  if grep -q "ERROR: AddressSanitizer\|runtime error:" "$LOG_DIR/asan-specs.log"; then
    echo "   sanitizer reports in the specs:"; grep -A15 "ERROR: AddressSanitizer\|runtime error:" "$LOG_DIR/asan-specs.log" | head -n 40
    FAILED=$((FAILED + 1))
  fi
  # the hostile-hooks fuzzer, each seed a child process under the sanitizers
  LD_PRELOAD="$rt" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 LUA_CPATH="./build-asan/?.so;;" \
    $LUA fuzz/lua_hostile.lua "${HOSTILE_ASAN_SECONDS:-10}" "${HOSTILE_SEED:-1}" >"$LOG_DIR/asan-lua_hostile.log" 2>&1 </dev/null
  count_one "asan hostile hooks fuzzer (fuzz/lua_hostile.lua)" $? "$LOG_DIR/asan-lua_hostile.log"
  grep -E "^lua_hostile: [0-9]+ seeds" "$LOG_DIR/asan-lua_hostile.log" | sed 's/^/   /'
}

phase_valgrind() {
  note "valgrind: C tests, lua_close scripts, specs"
  if ! command -v valgrind >/dev/null; then echo "   valgrind missing"; FAILED=$((FAILED + 1)); return; fi
  local vg="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all"
  for t in build/test_*; do
    [ -x "$t" ] || continue
    PYGC_CTEST_SCALE=0.05 $vg "$t" >"$LOG_DIR/vg-$(basename "$t").log" 2>&1 </dev/null
    count_c "valgrind $(basename "$t")" "$LOG_DIR/vg-$(basename "$t").log" $?
  done
  PYGC_SPEC_SCALE=0.05 $vg build/scene_host examples/host/scene.lua >"$LOG_DIR/vg-scene_host.log" 2>&1 </dev/null
  count_one "valgrind examples/host (C host, lua_close)" $? "$LOG_DIR/vg-scene_host.log"
  for s in spec/close/*.lua examples/*.lua; do
    [ -f "$s" ] || continue
    case "$s" in *fork*) continue ;; esac # a forked child under valgrind reports the parent's heap
    LUA_CPATH="./?.so;;" LUA_PATH="./binding/?.lua;./binding/?/init.lua;;" PYGC_SPEC_SCALE=0.02 \
      $vg $LUA "$s" >"$LOG_DIR/vg-$(basename "$s").log" 2>&1 </dev/null
    count_one "valgrind $s (0 bytes in use at exit)" $? "$LOG_DIR/vg-$(basename "$s").log"
  done
  # busted exits without closing its state, so here only memory errors and
  # definite leaks count; the scripts above prove lua_close frees all.
  WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
    run_specs "valgrind specs" "./?.so" "$LOG_DIR/vg-specs.log" PYGC_SPEC_SCALE=0.02
  if grep -q "^==[0-9]*== [A-Z]" "$LOG_DIR/vg-specs.log"; then
    echo "   valgrind reports in the specs:"; grep "^==[0-9]*==" "$LOG_DIR/vg-specs.log" | head -n 40
    FAILED=$((FAILED + 1))
  fi
}

phase_robustness() {
  note "robustness: allocation-failure injection and fuzz smoke"
  if make -s build/oom_lua >"$LOG_DIR/oom-build.log" 2>&1; then
    ASAN_OPTIONS=detect_leaks=1 build/oom_lua >"$LOG_DIR/oom.log" 2>&1 </dev/null
    count_c "oom_lua (every allocation fails once)" "$LOG_DIR/oom.log" $?
    grep "^oom_lua:" "$LOG_DIR/oom.log" | sed 's/^/   /'
  else
    echo "   oom_lua build failed"; tail -n 20 "$LOG_DIR/oom-build.log"; FAILED=$((FAILED + 1))
  fi
  local secs=${FUZZ_SMOKE_SECONDS:-20}
  if make -s build/fuzz_ops >"$LOG_DIR/fuzz-build.log" 2>&1; then
    mkdir -p build/fuzz-work
    build/fuzz_ops -max_total_time="$secs" -max_len=2048 -rss_limit_mb=4096 -print_final_stats=1 \
      build/fuzz-work fuzz/corpus >"$LOG_DIR/fuzz.log" 2>&1 </dev/null
    count_one "libFuzzer over the C API, ${secs}s from the corpus" $? "$LOG_DIR/fuzz.log"
    grep -E "stat::number_of_executed_units" "$LOG_DIR/fuzz.log" | sed 's/^/   /'
  else
    echo "   fuzz_ops build failed (clang with libFuzzer needed)"; tail -n 20 "$LOG_DIR/fuzz-build.log"; FAILED=$((FAILED + 1))
  fi
  make -s bench-quick >"$LOG_DIR/bench-quick.log" 2>&1 </dev/null
  count_one "make bench-quick: every benchmark driver runs (small N)" $? "$LOG_DIR/bench-quick.log"
  make -s bench-lua BENCH_LUA_N=2000 >"$LOG_DIR/bench-lua.log" 2>&1 </dev/null
  count_one "make bench-lua: the Lua path beside its floor runs (small N)" $? "$LOG_DIR/bench-lua.log"
  make -s bench-lua-instr BENCH_LUA_INSTR_N="1000 1" OPS=read_attr >"$LOG_DIR/bench-lua-instr.log" 2>&1 </dev/null
  count_one "make bench-lua-instr: instructions per Lua-path operation under callgrind (small N)" $? "$LOG_DIR/bench-lua-instr.log"
  LUA_CPATH="./?.so;;" $LUA fuzz/lua_fuzz.lua "$((secs / 4))" 1 >"$LOG_DIR/lua_fuzz.log" 2>&1 </dev/null
  count_one "random Lua operation scripts" $? "$LOG_DIR/lua_fuzz.log"
  sed 's/^/   /' "$LOG_DIR/lua_fuzz.log" | tail -n 1
  # hooks that make random API calls themselves (fixed seeds: a failure replays)
  LUA_CPATH="./?.so;;" $LUA fuzz/lua_hostile.lua "${HOSTILE_SMOKE_SECONDS:-6}" "${HOSTILE_SEED:-1}" >"$LOG_DIR/lua_hostile.log" 2>&1 </dev/null
  count_one "hostile hooks fuzzer (fuzz/lua_hostile.lua)" $? "$LOG_DIR/lua_hostile.log"
  grep -E "^lua_hostile: [0-9]+ seeds" "$LOG_DIR/lua_hostile.log" | sed 's/^/   /'
  # the model test of one graph across both heaps (seeded, bounded by ops)
  LUA_CPATH="./?.so;;" $LUA fuzz/cross_model.lua 60 7 "${XMODEL_SMOKE_OPS:-120000}" >"$LOG_DIR/cross_model.log" 2>&1 </dev/null
  count_one "cross-heap model test (fuzz/cross_model.lua)" $? "$LOG_DIR/cross_model.log"
  grep "^cross_model:" "$LOG_DIR/cross_model.log" | sed 's/^/   /'
}

case "${PYGC_ONLY:-}" in
  valgrind) phase_valgrind ;;
  robustness) phase_robustness ;;
  *)
    phase_plain
    if [ -z "${PYGC_QUICK:-}" ]; then
      phase_robustness
      phase_asan
      phase_valgrind
    fi
    ;;
esac

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
