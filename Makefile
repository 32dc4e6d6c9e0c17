# pygc -- build, test, install.  `make help` lists the targets.
LUA       ?= lua5.4
LUA_INC   ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
CC        ?= cc
PREFIX    ?= /usr/local
LUA_CMOD  ?= $(PREFIX)/lib/lua/5.4
LUA_LMOD  ?= $(PREFIX)/share/lua/5.4
BUSTED    ?= $(LUA) /usr/bin/busted

WARN      := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -Ilib $(LUA_INC) $(EXTRA_CFLAGS)
# lib/ knows nothing of Lua: compiled without Lua's headers, so the build
# itself enforces the layering
LIB_CFLAGS = $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -Ilib $(EXTRA_CFLAGS)
LDLIBS    := -lm

# The one place the sources are listed: every lib/*.c is the core, every
# binding/*.c the Lua binding (the rockspec builds through this Makefile).
LIB_SRC   := $(wildcard lib/*.c)
LIB_HDR   := $(wildcard lib/*.h)
BIND_SRC  := $(wildcard binding/*.c)
BIND_HDR  := $(wildcard binding/*.h)
BUILD     ?= build
LIB_OBJ   := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC))
BIND_OBJ  := $(patsubst binding/%.c,$(BUILD)/binding/%.o,$(BIND_SRC))
# The version is stated once, as PYGC_VERSION in lib/pygc.h.
VERSION   := $(shell sed -n 's/^\#define PYGC_VERSION "\([^"]*\)".*/\1/p' lib/pygc.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
CTEST_SRC := $(wildcard spec/c/test_*.c)
CTESTS    := $(patsubst spec/c/%.c,$(BUILD)/%,$(CTEST_SRC))

.PHONY: all test check conformance fuzz oom bench bench-quick bench-lua bench-lua-instr bench-cross demo install uninstall clean help ctest asan valgrind \
        check-symbols dist src-rock rockspec rock rock-install lint print-version doc FORCE
all: pygc.so $(BUILD)/libpygc.a $(BUILD)/posixlite.so

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/binding/%.o: binding/%.c $(BIND_HDR) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibinding -c $< -o $@

$(BUILD)/libpygc.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/pygc.so: $(LIB_OBJ) $(BIND_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

# the module Lua finds from the top of the tree (LUA_CPATH=./?.so)
pygc.so: $(BUILD)/pygc.so
	cp $< $@

# the threads test embeds Lua and the binding
$(BUILD)/test_threads: spec/c/test_threads.c spec/c/ctest.h $(BUILD)/libpygc.a $(BIND_OBJ)
	$(CC) $(WARN) $(CFLAGS) -Ilib -Ispec/c $(LUA_INC) $(EXTRA_CFLAGS) $< $(BIND_OBJ) $(BUILD)/libpygc.a -o $@ $(LDFLAGS) -llua5.4 -lpthread $(LDLIBS)

# the worked embedding: a C host type used from Lua
$(BUILD)/scene_host: examples/host/scene.c binding/lpygc.h $(BUILD)/libpygc.a $(BIND_OBJ)
	$(CC) $(WARN) $(CFLAGS) -Ilib -Ibinding $(LUA_INC) $(EXTRA_CFLAGS) $< $(BIND_OBJ) $(BUILD)/libpygc.a -o $@ $(LDFLAGS) -llua5.4 $(LDLIBS)

# the debug-build contract checks: lib/ compiled in, with PYGC_DEBUG
$(BUILD)/test_contract: spec/c/test_contract.c spec/c/ctest.h $(LIB_SRC) $(LIB_HDR)
	$(CC) $(WARN) $(CFLAGS) -DPYGC_DEBUG -Ilib -Ispec/c $(EXTRA_CFLAGS) $< $(LIB_SRC) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/test_%: spec/c/test_%.c spec/c/ctest.h spec/c/ct_heap.h $(BUILD)/libpygc.a
	$(CC) $(WARN) $(CFLAGS) -Ilib -Ispec/c $(EXTRA_CFLAGS) $< $(BUILD)/libpygc.a -o $@ $(LDFLAGS) $(LDLIBS)

ctest: $(CTESTS) $(BUILD)/scene_host

# The whole test run: C tests, busted specs, then both again under
# ASan/UBSan, then the specs under valgrind.  Ends with "N passed, N failed".
test: all ctest
	@bash tools/run_tests.sh

# Only the plain specs and C tests, quickly.
check: all ctest
	@PYGC_QUICK=1 bash tools/run_tests.sh

# the differential suite alone: python3 is the oracle
conformance: pygc.so
	LUA_CPATH="./?.so;;" $(BUSTED) spec/conformance_spec.lua

# ---- robustness: fuzzing and allocation-failure injection ----
CLANG        ?= clang
FUZZ_SECONDS ?= 60
SAN          := -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzz_ops: fuzz/fuzz_ops.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -g -O1 -fsanitize=fuzzer $(SAN) -DPYGC_DEBUG -Ilib fuzz/fuzz_ops.c $(LIB_SRC) -lm -o $@

$(BUILD)/oom_lua: fuzz/oom_lua.c $(BIND_SRC) $(BIND_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -g -O1 $(SAN) -DPYGC_DEBUG -Ilib -Ibinding $(LUA_INC) fuzz/oom_lua.c $(BIND_SRC) $(LIB_SRC) -llua5.4 -lm -o $@

# libFuzzer over the C API (new inputs land in build/, the repo corpus is
# read), then random operation scripts through the Lua module
fuzz: $(BUILD)/fuzz_ops pygc.so
	@mkdir -p $(BUILD)/fuzz-work
	$(BUILD)/fuzz_ops -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -rss_limit_mb=4096 -print_final_stats=1 $(BUILD)/fuzz-work fuzz/corpus
	$(LUA) fuzz/lua_fuzz.lua $(FUZZ_SECONDS)
	@# hooks that make random API calls: plain, then under ASan/UBSan (HOSTILE_SEED picks the first seed)
	$(MAKE) -s asan
	st=0; $(LUA) fuzz/lua_hostile.lua $(FUZZ_SECONDS) $(HOSTILE_SEED) || st=1; \
	LD_PRELOAD=$$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 LUA_CPATH="./build-asan/?.so;;" \
	  $(LUA) fuzz/lua_hostile.lua $(FUZZ_SECONDS) $(HOSTILE_SEED) || st=1; \
	$(LUA) fuzz/cross_model.lua $(FUZZ_SECONDS) || st=1; exit $$st

# every allocation of the workloads fails once in turn (C API and Lua)
oom: $(BUILD)/oom_lua ctest
	$(BUILD)/oom_lua
	$(BUILD)/test_core

# nm: only pygc_-prefixed globals in the static library (make test runs it too)
check-symbols: $(BUILD)/libpygc.a $(BUILD)/libpygc.so
	bash tools/check_symbols.sh $(BUILD)

# for editors and clangd: every C file with the flags its rule compiles it with
compile_commands.json: Makefile $(LIB_SRC) $(CTEST_SRC) $(wildcard binding/*.c)
	@{ echo '['; \
	  for f in $(LIB_SRC); do printf '  {"directory": "%s", "file": "%s", "command": "%s -c %s"},\n' "$(CURDIR)" "$$f" "$(CC) $(LIB_CFLAGS)" "$$f"; done; \
	  for f in $(CTEST_SRC) fuzz/fuzz_ops.c bench/w_pygc.c; do printf '  {"directory": "%s", "file": "%s", "command": "%s -c %s"},\n' "$(CURDIR)" "$$f" "$(CC) $(WARN) $(CFLAGS) -Ilib -Ispec/c" "$$f"; done; \
	  for f in $(wildcard binding/*.c) examples/host/scene.c fuzz/oom_lua.c; do printf '  {"directory": "%s", "file": "%s", "command": "%s -Ibinding -c %s"},\n' "$(CURDIR)" "$$f" "$(CC) $(ALL_CFLAGS)" "$$f"; done; \
	  } | sed '$$ s/,$$//' > $@.tmp && { cat $@.tmp; echo ']'; } > $@ && rm -f $@.tmp
	@echo "wrote $@"

# ---- benchmarks: shared/bench/WORKLOADS.md, pygc beside python3 and Lua ----
$(BUILD)/w_pygc: bench/w_pygc.c $(BUILD)/libpygc.a
	$(CC) -std=c11 -O2 -g -Ilib $< $(BUILD)/libpygc.a -o $@ $(LDLIBS)

$(BUILD)/posixlite.so: examples/posixlite.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -shared -fPIC $(LUA_INC) $< -o $@

$(BUILD)/w_pressure: bench/w_pressure.c $(BUILD)/libpygc.a
	$(CC) -std=c11 -O2 -g -Ilib $< $(BUILD)/libpygc.a -o $@ $(LDLIBS)

$(BUILD)/hrclock.so: bench/hrclock.c
	$(CC) -std=c11 -O2 -shared -fPIC $(LUA_INC) $< -o $@

BENCH_REPS ?= 5
bench: pygc.so $(BUILD)/w_pygc $(BUILD)/w_pressure $(BUILD)/hrclock.so $(BUILD)/floor.so
	python3 bench/run.py --reps $(BENCH_REPS) | tee $(BUILD)/bench/table.md
	@echo >> $(BUILD)/bench/table.md
	LUA_CPATH="./$(BUILD)/?.so;./?.so;;" $(LUA) bench/lua_path.lua $(BENCH_LUA_N) | tee -a $(BUILD)/bench/table.md
	@echo >> $(BUILD)/bench/table.md
	BUILD=$(BUILD) LUA=$(LUA) sh bench/lua_path_instr.sh $(BENCH_LUA_INSTR_N) | tee -a $(BUILD)/bench/table.md
	@echo >> $(BUILD)/bench/table.md
	BUILD=$(BUILD) sh bench/w3_instr.sh | tee -a $(BUILD)/bench/table.md

$(BUILD)/floor.so: bench/floor.c
	$(CC) -std=c11 -O2 -shared -fPIC $(LUA_INC) $< -o $@

# the Lua path against its floor (a bare userdata) and plain tables
bench-lua: pygc.so $(BUILD)/hrclock.so $(BUILD)/floor.so
	LUA_CPATH="./$(BUILD)/?.so;./?.so;;" $(LUA) bench/lua_path.lua $(BENCH_LUA_N)

# the same operations as instructions per operation under callgrind (the
# deterministic figure; about 3 minutes)
bench-lua-instr: pygc.so $(BUILD)/floor.so
	BUILD=$(BUILD) LUA=$(LUA) sh bench/lua_path_instr.sh $(BENCH_LUA_INSTR_N)

# one collection of both heaps beside pygc alone and Lua alone (BENCH_N=1000000)
bench-cross: pygc.so $(BUILD)/hrclock.so
	$(LUA) bench/cross_heap.lua | tee $(BUILD)/bench-cross.md
	LUA_CPATH="./$(BUILD)/?.so;./?.so;;" $(LUA) bench/methods_collect.lua | tee -a $(BUILD)/bench-cross.md

bench-quick: pygc.so $(BUILD)/w_pygc $(BUILD)/w_pressure $(BUILD)/hrclock.so
	python3 bench/run.py --quick

# builds what every example needs (posixlite for fork_freeze.lua, the C
# host build/scene_host for examples/host), runs the flagship
demo: all $(BUILD)/scene_host
	$(LUA) examples/flagship.lua

# ---- for C programs: shared and static libraries, headers, pkg-config ----
# libpygc (the core) and libpygc_lua (the binding, for C programs that embed
# Lua 5.4), each with a soname; the Lua module links the objects directly.
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PUB_HDR := lib/pygc.h binding/lpygc.h
LUA_LIB ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
comma   := ,
# A libdir the dynamic linker does not search by default gets an rpath in
# the .pc files, so programs built with pkg-config run without LD_LIBRARY_PATH.
SYS_LIBDIRS := /lib /usr/lib /usr/local/lib $(foreach m,$(shell $(CC) -print-multiarch 2>/dev/null),/lib/$(m) /usr/lib/$(m))
PC_RPATH = $(if $(filter $(SYS_LIBDIRS),$(patsubst %/,%,$(LIBDIR))),,-Wl$(comma)-rpath$(comma)$${libdir})

$(BUILD)/libpygc.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libpygc.so.$(SOVERSION) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/libpygc_lua.so: $(BIND_OBJ) $(BUILD)/libpygc.so
	$(CC) -shared -Wl,-soname,libpygc_lua.so.$(SOVERSION) -o $@ $(BIND_OBJ) -L$(BUILD) -lpygc $(LDFLAGS) $(LUA_LIB) $(LDLIBS)

$(BUILD)/libpygc_lua.a: $(BIND_OBJ)
	ar rcs $@ $^

$(BUILD)/%.pc: tools/%.pc.in lib/pygc.h Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@RPATH@|$(PC_RPATH)|g' $< > $@

C_LIBS := $(BUILD)/libpygc.a $(BUILD)/libpygc_lua.a $(BUILD)/libpygc.so $(BUILD)/libpygc_lua.so $(BUILD)/pygc.pc $(BUILD)/pygc-lua.pc

# The .pc files hold PREFIX: rebuild them on every install.
install: all
	rm -f $(BUILD)/pygc.pc $(BUILD)/pygc-lua.pc
	$(MAKE) $(C_LIBS)
	install -d $(DESTDIR)$(LUA_CMOD) $(DESTDIR)$(LUA_LMOD)/pygc $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 pygc.so $(DESTDIR)$(LUA_CMOD)/pygc.so
	install -m 644 $(PUB_HDR) $(DESTDIR)$(INCDIR)/
	install -m 644 $(BUILD)/libpygc.a $(BUILD)/libpygc_lua.a $(DESTDIR)$(LIBDIR)/
	for l in libpygc libpygc_lua; do \
	  install -m 755 $(BUILD)/$$l.so $(DESTDIR)$(LIBDIR)/$$l.so.$(VERSION) && \
	  ln -sf $$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$l.so.$(SOVERSION) && \
	  ln -sf $$l.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/$$l.so || exit 1; done
	install -m 644 $(BUILD)/pygc.pc $(BUILD)/pygc-lua.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	for f in binding/pygc/*.lua; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(LUA_LMOD)/pygc/ || true; done
	@# as root into the real system: refresh the dynamic linker's cache
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LUA_CMOD)/pygc.so $(DESTDIR)$(INCDIR)/pygc.h $(DESTDIR)$(INCDIR)/lpygc.h
	rm -f $(DESTDIR)$(LIBDIR)/libpygc.a $(DESTDIR)$(LIBDIR)/libpygc_lua.a $(DESTDIR)$(LIBDIR)/libpygc.so* $(DESTDIR)$(LIBDIR)/libpygc_lua.so*
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/pygc.pc $(DESTDIR)$(LIBDIR)/pkgconfig/pygc-lua.pc
	rm -rf $(DESTDIR)$(LUA_LMOD)/pygc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# ---- releases: a tarball, the rockspec, a .src.rock ----
DIST     := pygc-$(VERSION)
ROCKSPEC := pygc-$(VERSION)-1.rockspec

# every file git knows (tracked or new, not ignored); outside git, the tree
$(BUILD)/$(DIST).tar.gz: FORCE
	@mkdir -p $(BUILD)
	@{ if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git ls-files -co --exclude-standard; \
	   else find . -type f ! -path './build*' ! -path './.git/*' ! -name '*.so' ! -name '*.o' ! -name '*.a' | sed 's|^\./||'; fi; } | \
	  while read -r f; do [ -f "$$f" ] && echo "$$f"; done | LC_ALL=C sort | \
	  tar -czf $@ --transform 's|^|$(DIST)/|' --owner=0 --group=0 --mtime=@0 -T -
	@echo "$@"

dist: $(BUILD)/$(DIST).tar.gz

# a .src.rock is a zip of the rockspec and the source tarball it names
src-rock: dist
	@rm -f $(BUILD)/$(DIST)-1.src.rock
	@mkdir -p $(BUILD)/src-rock && cp $(ROCKSPEC) $(BUILD)/$(DIST).tar.gz $(BUILD)/src-rock/
	cd $(BUILD)/src-rock && zip -q ../$(DIST)-1.src.rock $(ROCKSPEC) $(DIST).tar.gz
	@rm -rf $(BUILD)/src-rock
	@echo "$(BUILD)/$(DIST)-1.src.rock"

print-version:
	@echo $(VERSION)

# after a version change in lib/pygc.h: rename the rockspec and set its V
rockspec:
	@old=$$(ls pygc-*-1.rockspec | head -n 1); \
	if [ "$$old" != "$(ROCKSPEC)" ]; then git mv "$$old" $(ROCKSPEC) 2>/dev/null || mv "$$old" $(ROCKSPEC); fi; \
	sed -i 's/^local V = ".*"/local V = "$(VERSION)"/' $(ROCKSPEC); echo $(ROCKSPEC)

# what the rockspec's build.type = "make" runs: the module, then its install
ROCK_CMOD ?= $(LUA_CMOD)
ROCK_LMOD ?= $(LUA_LMOD)
rock: pygc.so

rock-install: pygc.so
	install -d $(ROCK_CMOD) $(ROCK_LMOD)/pygc
	install -m 755 pygc.so $(ROCK_CMOD)/pygc.so
	install -m 644 binding/pygc/*.lua $(ROCK_LMOD)/pygc/

FORCE:

# the API reference (LDoc, config.ld): build/doc/index.html.  Fails on any
# LDoc warning, and when a public function is missing from the reference.
doc: pygc.so
	@rm -rf $(BUILD)/doc
	@out=$$(ldoc . 2>&1); st=$$?; warn=$$(printf '%s\n' "$$out" | grep -v -e '^reading configuration from' -e '^output written to'); \
	if [ $$st -ne 0 ] || [ -n "$$warn" ]; then printf '%s\n' "$$out"; exit 1; fi
	@LUA_CPATH="./?.so;;" LUA_PATH="./binding/?.lua;;" $(LUA) tools/check_doc.lua
	@echo "$(BUILD)/doc/index.html"

# luacheck over binding/ spec/ examples/ bench/ (.luacheckrc says which files)
lint:
	luacheck -q .

# Sanitizer build in its own directory (module + C tests).
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -DPYGC_DEBUG" LDFLAGS="-fsanitize=address,undefined" build-asan/pygc.so ctest

valgrind: all
	PYGC_ONLY=valgrind bash tools/run_tests.sh

clean:
	rm -rf build build-asan pygc.so

help:
	@echo "make          build pygc.so and build/libpygc.a"
	@echo "make test     every test: C, specs, ASan/UBSan, valgrind"
	@echo "make check    C tests and specs only (fast)"
	@echo "make demo     run examples/flagship.lua"
	@echo "make conformance   the differential suite against python3"
	@echo "make fuzz FUZZ_SECONDS=N   libFuzzer + Lua random scripts + hostile hooks (plain and ASan)"
	@echo "make oom      allocation-failure injection"
	@echo "make bench-cross   the cost of one collection of both heaps"
	@echo "make bench    side-by-side benchmarks (BENCH_REPS=5), make bench-quick a smoke"
	@echo "make bench-lua-instr   instructions per Lua-path operation beside the floor (callgrind)"
	@echo "make install  PREFIX=/usr/local"
	@echo "make doc      the LDoc API reference in build/doc/"
	@echo "make lint     luacheck over binding/ spec/ examples/ bench/"
	@echo "make dist     build/pygc-VERSION.tar.gz; make src-rock: its .src.rock"
	@echo "make check-symbols     nm: lib/ exports only pygc_ names"
	@echo "make compile_commands.json   for editors (clangd)"
