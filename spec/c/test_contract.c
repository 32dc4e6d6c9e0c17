/* test_contract.c -- in PYGC_DEBUG builds, a host type that breaks the
 * pygc_type contract is stopped with a message naming the type, instead of
 * corrupting the heap later.  This test is always built with lib/ compiled
 * in debug mode (see the Makefile); each broken type runs in a child
 * process, which must abort with the right message.
 *
 *   - a traverse that visits a slot holding no object
 *   - a traverse that visits one slot twice
 *   - a size() whose answer changes from call to call
 *   - a size() that, after free, is not the size the object was made with */
#define _POSIX_C_SOURCE 200809L
#include "ctest.h"
#include "pygc.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct pair {
  pygc_object h;
  pygc_value a, b;
} pair;

static void pair_clear(pygc_heap *h, pygc_object *o) {
  pair *p = (pair *)o;
  pygc_value a = p->a, b = p->b;
  p->a = p->b = pygc_none();
  pygc_value_decref(h, a);
  pygc_value_decref(h, b);
}
static size_t pair_size(const pygc_object *o) {
  (void)o;
  return sizeof(pair);
}

/* visits a (an int) as if it held an object */
static int nonobj_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  pair *p = (pair *)o;
  return visit(&p->a, arg);
}
static const pygc_type nonobj_type = {
    .name = "NonObj", .flags = PYGC_TYPE_GC, .traverse = nonobj_traverse, .clear = pair_clear, .size = pair_size};

/* visits b twice */
static int twice_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  pair *p = (pair *)o;
  int r = visit(&p->b, arg);
  return r ? r : visit(&p->b, arg);
}
static const pygc_type twice_type = {
    .name = "Twice", .flags = PYGC_TYPE_GC, .traverse = twice_traverse, .clear = pair_clear, .size = pair_size};

static int good_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  pair *p = (pair *)o;
  int r = 0;
  if (p->a.tag == PYGC_TOBJ && (r = visit(&p->a, arg))) return r;
  if (p->b.tag == PYGC_TOBJ) r = visit(&p->b, arg);
  return r;
}

/* a size that grows by one grain at every call */
static size_t drifting_size(const pygc_object *o) {
  static size_t calls;
  (void)o;
  return sizeof(pair) + 16 * (calls++ % 2);
}
static const pygc_type drift_type = {
    .name = "Drift", .flags = PYGC_TYPE_GC, .traverse = good_traverse, .clear = pair_clear, .size = drifting_size};

/* a size that counts storage it never allocated */
static size_t fat_size(const pygc_object *o) {
  (void)o;
  return sizeof(pair) + 64;
}
static const pygc_type fat_type = {
    .name = "Fat", .flags = PYGC_TYPE_GC, .traverse = good_traverse, .clear = pair_clear, .size = fat_size};

static pygc_heap *H;

/* The children's heaps live in a static arena: a child that aborts leaves
 * no malloc'd block behind for valgrind (make test) to report. */
static _Alignas(16) unsigned char arena[1 << 20];
static size_t arena_used;
static void *arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) return NULL; /* freed blocks are simply not reused */
  size_t n = (nsize + 15) & ~(size_t)15;
  if (arena_used + n > sizeof arena) return NULL;
  void *p = arena + arena_used;
  arena_used += n;
  if (ptr) memcpy(p, ptr, osize < nsize ? osize : nsize);
  return p;
}

static pair *new_pair(const pygc_type *t) {
  pair *p = (pair *)pygc_object_new(H, t, sizeof(pair));
  p->a = p->b = pygc_none();
  return p;
}

static void run_nonobj(void) {
  pair *p = new_pair(&nonobj_type);
  p->a = pygc_int(1234);
  pygc_track(H, &p->h);
  pygc_collect(H, 2); /* subtract_refs walks the bad slot */
}

static void run_twice(void) {
  pair *p = new_pair(&twice_type);
  pygc_object *l = pygc_list_new(H, 0);
  p->b = pygc_obj(l); /* takes our reference */
  pygc_track(H, &p->h);
  char msg[256];
  pygc_heap_verify(H, msg, sizeof msg);
}

static void run_drift(void) {
  pair *p = new_pair(&drift_type);
  pygc_track(H, &p->h);
  char msg[256];
  pygc_heap_verify(H, msg, sizeof msg);
}

static void run_fat(void) {
  pair *p = new_pair(&fat_type);
  pygc_track(H, &p->h);
  pygc_decref(H, &p->h); /* freed with the wrong size */
}

/* Run fn in a child with stderr captured; it must abort, saying `want`
 * and naming `type`. */
static void expect_abort(void (*fn)(void), const char *type, const char *want) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    H = pygc_heap_new(arena_alloc, NULL, 1);
    fn();
    _exit(0); /* not stopped: the parent reports it */
  }
  close(fds[1]);
  char buf[1024];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  buf[n] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(buf, type) != NULL);
  CHECK(strstr(buf, want) != NULL);
  if (!strstr(buf, want)) fprintf(stderr, "child said: %s\n", buf);
}

static void test_nonobject_slot(void) { expect_abort(run_nonobj, "'NonObj'", "holds no object"); }
static void test_slot_twice(void) { expect_abort(run_twice, "'Twice'", "one slot twice"); }
static void test_size_drifts(void) { expect_abort(run_drift, "'Drift'", "size() answers differently"); }
static void test_size_after_free(void) { expect_abort(run_fat, "'Fat'", "size() after free"); }

/* a type that keeps the contract is not stopped */
static const pygc_type good_type = {
    .name = "Good", .flags = PYGC_TYPE_GC, .traverse = good_traverse, .clear = pair_clear, .size = pair_size};
static void run_good(void) {
  pair *p = new_pair(&good_type);
  pygc_object *l = pygc_list_new(H, 0);
  p->a = pygc_obj(l);
  p->b = pygc_obj(&p->h);
  pygc_incref(&p->h);
  pygc_track(H, &p->h);
  char msg[256];
  if (pygc_heap_verify(H, msg, sizeof msg)) abort();
  pygc_decref(H, &p->h);
  if (pygc_collect(H, 2) != 2) abort();
  pygc_heap_free(H);
}
static void test_good_type_runs(void) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    H = pygc_heap_new(arena_alloc, NULL, 1);
    run_good();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
  RUN(test_nonobject_slot);
  RUN(test_slot_twice);
  RUN(test_size_drifts);
  RUN(test_size_after_free);
  RUN(test_good_type_runs);
  return ct_summary();
}
