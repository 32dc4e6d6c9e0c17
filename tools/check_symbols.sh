#!/usr/bin/env bash
# The symbols lib/ gives the programs that link it:
#   - every global symbol defined in the static library is pygc_-prefixed
#     (internal functions are pygc__-prefixed and hidden), so a host's own
#     tab_insert or heap_alloc can never clash with ours;
#   - the shared library exports the public API only: nothing pygc__.
# Usage: tools/check_symbols.sh [BUILD_DIR]   (default build)
set -u
b=${1:-build}
status=0
bad=$(nm -g --defined-only "$b/libpygc.a" | awk 'NF == 3 { print $3 }' | grep -v '^pygc_' | sort -u)
if [ -n "$bad" ]; then
  echo "check_symbols: $b/libpygc.a defines globals without the pygc_ prefix:"; echo "$bad" | sed 's/^/  /'
  status=1
fi
if [ -f "$b/libpygc.so" ]; then
  leaked=$(nm -D --defined-only "$b/libpygc.so" | awk 'NF == 3 { print $3 }' | grep -E '^pygc__|^[^p]' | grep -v '^_' | sort -u)
  if [ -n "$leaked" ]; then
    echo "check_symbols: $b/libpygc.so exports non-public symbols:"; echo "$leaked" | sed 's/^/  /'
    status=1
  fi
fi
[ $status -eq 0 ] && echo "check_symbols: $(nm -g --defined-only "$b/libpygc.a" | awk 'NF == 3' | wc -l) globals in $b/libpygc.a, all pygc_-prefixed"
exit $status
