/* ctest.h -- a tiny test harness for the C tests of lib/.
 * Each CHECK counts; main ends with "N passed, N failed". */
#ifndef CTEST_H
#define CTEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ct_passed, ct_failed;
static const char *ct_test = "";

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    if (cond) {                                                                                                        \
      ct_passed++;                                                                                                     \
    } else {                                                                                                           \
      ct_failed++;                                                                                                     \
      fprintf(stderr, "FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, ct_test, #cond);                                  \
    }                                                                                                                  \
  } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
  do {                                                                                                                 \
    long long ct_a = (long long)(a), ct_b = (long long)(b);                                                            \
    if (ct_a == ct_b) {                                                                                                \
      ct_passed++;                                                                                                     \
    } else {                                                                                                           \
      ct_failed++;                                                                                                     \
      fprintf(stderr, "FAIL %s:%d in %s: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, ct_test, #a, #b, ct_a,      \
              ct_b);                                                                                                   \
    }                                                                                                                  \
  } while (0)

#define RUN(fn)                                                                                                        \
  do {                                                                                                                 \
    ct_test = #fn;                                                                                                     \
    fn();                                                                                                              \
  } while (0)

static inline int ct_summary(void) {
  printf("%d passed, %d failed\n", ct_passed, ct_failed);
  return ct_failed ? 1 : 0;
}

/* A counting allocator that can fail the n-th allocation. */
typedef struct ct_alloc {
  long live_blocks;
  size_t live_bytes;
  long count;   /* allocations so far */
  long fail_at; /* fail this allocation (1-based); 0 = never */
} ct_alloc;

static inline void *ct_allocf(void *ud, void *ptr, size_t osize, size_t nsize) {
  ct_alloc *a = ud;
  if (nsize == 0) {
    if (ptr) {
      a->live_blocks--;
      a->live_bytes -= osize;
      free(ptr);
    }
    return NULL;
  }
  a->count++;
  if (a->fail_at && a->count == a->fail_at) return NULL;
  void *p = realloc(ptr, nsize);
  if (p == NULL) return NULL;
  if (ptr == NULL) {
    a->live_blocks++;
    a->live_bytes += nsize;
  } else {
    a->live_bytes = a->live_bytes - osize + nsize;
  }
  return p;
}
#endif
