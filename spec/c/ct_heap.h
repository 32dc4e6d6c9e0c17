/* ct_heap.h -- the heap a C test file works on, and VERIFY(): every file
 * that includes this has one counting allocator A (ctest.h), one heap H,
 * and checks the heap with VERIFY() after the steps that change it. */
#ifndef CT_HEAP_H
#define CT_HEAP_H
#include "ctest.h"
#include "pygc.h"

static ct_alloc A;
static pygc_heap *H;
static char vmsg[512];

#define VERIFY()                                                                                                       \
  do {                                                                                                                 \
    int ct_bad = pygc_heap_verify(H, vmsg, sizeof vmsg);                                                               \
    if (ct_bad) fprintf(stderr, "verify: %s\n", vmsg);                                                                 \
    CHECK(!ct_bad);                                                                                                    \
  } while (0)

#endif
