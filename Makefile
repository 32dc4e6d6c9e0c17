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
LDLIBS    := -lm

LIB_SRC   := $(wildcard lib/*.c)
LIB_HDR   := $(wildcard lib/*.h)
BUILD     ?= build
LIB_OBJ   := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC))
CTEST_SRC := $(wildcard spec/c/test_*.c)
CTESTS    := $(patsubst spec/c/%.c,$(BUILD)/%,$(CTEST_SRC))

.PHONY: all test conformance fuzz oom bench bench-cross bench-quick demo install uninstall clean help ctest spec asan valgrind check-lua
all: pygc.so $(BUILD)/libpygc.a $(BUILD)/posixlite.so

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

BIND_SRC  := $(wildcard binding/*.c)
BIND_HDR  := $(wildcard binding/*.h)
BIND_OBJ  := $(patsubst binding/%.c,$(BUILD)/binding/%.o,$(BIND_SRC))

$(BUILD)/binding/%.o: binding/%.c $(BIND_HDR) lib/pygc.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

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

$(BUILD)/test_%: spec/c/test_%.c spec/c/ctest.h $(BUILD)/libpygc.a
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
	$(CLANG) -std=c11 -g -O1 -fsanitize=fuzzer $(SAN) -DPYGC_DEBUG -Ilib fuzz/fuzz_ops.c $(LIB_SRC) -lm -o $@

$(BUILD)/oom_lua: fuzz/oom_lua.c $(BIND_SRC) $(BIND_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -g -O1 $(SAN) -DPYGC_DEBUG -Ilib -Ibinding $(LUA_INC) fuzz/oom_lua.c $(BIND_SRC) $(LIB_SRC) -llua5.4 -lm -o $@

# libFuzzer over the C API (new inputs land in build/, the repo corpus is
# read), then random operation scripts through the Lua module
fuzz: $(BUILD)/fuzz_ops pygc.so
	@mkdir -p $(BUILD)/fuzz-work
	$(BUILD)/fuzz_ops -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -rss_limit_mb=4096 -print_final_stats=1 $(BUILD)/fuzz-work fuzz/corpus
	$(LUA) fuzz/lua_fuzz.lua $(FUZZ_SECONDS)
	$(LUA) fuzz/cross_model.lua $(FUZZ_SECONDS)

# every allocation of the workloads fails once in turn (C API and Lua)
oom: $(BUILD)/oom_lua ctest
	$(BUILD)/oom_lua
	$(BUILD)/test_core

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
bench: pygc.so $(BUILD)/w_pygc $(BUILD)/w_pressure $(BUILD)/hrclock.so
	python3 bench/run.py --reps $(BENCH_REPS) | tee $(BUILD)/bench/table.md

# one collection of both heaps beside pygc alone and Lua alone (BENCH_N=1000000)
bench-cross: pygc.so
	$(LUA) bench/cross_heap.lua | tee $(BUILD)/bench-cross.md

bench-quick: pygc.so $(BUILD)/w_pygc $(BUILD)/w_pressure $(BUILD)/hrclock.so
	python3 bench/run.py --quick

demo: pygc.so
	$(LUA) examples/flagship.lua

# the core as a shared library (the module links the objects directly)
$(BUILD)/libpygc.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libpygc.so.0 -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/libpygc_lua.a: $(BIND_OBJ)
	ar rcs $@ $^

$(BUILD)/pygc.pc: tools/pygc.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

VERSION := 0.1.0
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include

install: all $(BUILD)/libpygc.so $(BUILD)/libpygc_lua.a $(BUILD)/pygc.pc
	install -d $(DESTDIR)$(LUA_CMOD) $(DESTDIR)$(LUA_LMOD)/pygc $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 pygc.so $(DESTDIR)$(LUA_CMOD)/pygc.so
	install -m 644 lib/pygc.h binding/lpygc.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(BUILD)/libpygc.a $(BUILD)/libpygc_lua.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libpygc.so $(DESTDIR)$(LIBDIR)/libpygc.so.$(VERSION)
	ln -sf libpygc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpygc.so.0
	ln -sf libpygc.so.0 $(DESTDIR)$(LIBDIR)/libpygc.so
	install -m 644 $(BUILD)/pygc.pc $(DESTDIR)$(LIBDIR)/pkgconfig/pygc.pc
	for f in binding/pygc/*.lua; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(LUA_LMOD)/pygc/ || true; done

uninstall:
	rm -f $(DESTDIR)$(LUA_CMOD)/pygc.so $(DESTDIR)$(INCDIR)/pygc.h $(DESTDIR)$(INCDIR)/lpygc.h
	rm -f $(DESTDIR)$(LIBDIR)/libpygc.a $(DESTDIR)$(LIBDIR)/libpygc_lua.a $(DESTDIR)$(LIBDIR)/libpygc.so*
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/pygc.pc
	rm -rf $(DESTDIR)$(LUA_LMOD)/pygc

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
	@echo "make fuzz FUZZ_SECONDS=N   libFuzzer + Lua random scripts"
	@echo "make oom      allocation-failure injection"
	@echo "make bench-cross   the cost of one collection of both heaps"
	@echo "make bench    side-by-side benchmarks (BENCH_REPS=5), make bench-quick a smoke"
	@echo "make install  PREFIX=/usr/local"
