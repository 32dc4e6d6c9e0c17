/* fixed_time.c -- preloaded into each seed of fuzz/lua_hostile.lua.
 *
 * Lua seeds its string hashes from time(NULL) (and addresses, which the
 * driver pins with `setarch -R`).  The layout of string-keyed tables, and
 * so when they grow, when Lua's collector steps and where finalizers run,
 * follows that seed: pinning time() is what makes a failing seed replay
 * exactly.  Nothing in a seed uses the wall clock otherwise. */
#include <time.h>

time_t time(time_t *t) {
  if (t) *t = 1000000000;
  return 1000000000;
}
