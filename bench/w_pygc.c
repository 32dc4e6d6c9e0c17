/*
 * w_pygc.c -- the five workloads of shared/bench/WORKLOADS.md through the
 * C API ("pygc-c").  One process per measurement:
 *   w_pygc W1|W2|W3|W4|W5 list|inst [plain|lat|nogc] [N]
 * prints one JSON line with the fields WORKLOADS.md names.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pygc.h"

static long N = 1000000;
#define FANOUT 1000

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pygc_heap *H;
static pygc_object *Node; /* the class for "inst" nodes */
static int inst;

/* Where the attribute name was found last (pygc_setattr_hint checks it
 * against the name on every use): what a C host keeps per name it sets
 * often, as CPython keeps interned names.  Every workload sets one name. */
static uint32_t attr_hint;

/* a node holding `ref` in its slot (list: [ref]; inst: attribute name) */
static pygc_object *node(pygc_value ref, const char *attr, size_t alen) {
  if (inst) {
    pygc_object *o = pygc_instance_new(H, Node);
    pygc_setattr_hint(H, o, attr, alen, &attr_hint, ref);
    return o;
  }
  pygc_object *l = pygc_list_new(H, 1);
  pygc_list_append(H, l, ref);
  return l;
}

static void set_ref(pygc_object *o, pygc_value ref, const char *attr, size_t alen) {
  if (inst)
    pygc_setattr_hint(H, o, attr, alen, &attr_hint, ref);
  else
    pygc_list_set(H, o, 0, ref);
}

/* ---- collector callbacks: GC time as CPython's gc.callbacks measure it ---- */
static int64_t cb_start, gc_ns, max_pause_ns;
static long collections[3];
static void on_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  (void)ud;
  (void)h;
  if (phase[1] == 't' && phase[2] == 'a') { /* "start" */
    cb_start = now_ns();
  } else {
    int64_t d = now_ns() - cb_start;
    gc_ns += d;
    if (d > max_pause_ns) max_pause_ns = d;
    collections[info->generation]++;
  }
}

static pygc_object *build_w2(void) {
  pygc_object *root = pygc_list_new(H, FANOUT);
  for (int i = 0; i < FANOUT; i++) {
    pygc_object *p = pygc_list_new(H, FANOUT);
    for (int j = 0; j < FANOUT; j++) {
      pygc_object *c = node(pygc_obj(p), "parent", 6);
      pygc_list_append(H, p, pygc_obj(c));
      pygc_decref(H, c);
    }
    pygc_list_append(H, root, pygc_obj(p));
    pygc_decref(H, p);
  }
  return root;
}

static void churn(const char *mode, int64_t *total, int64_t *max_iter, long *over1, long *over10) {
  pygc_object *a = NULL, *b = NULL, *c = NULL;
  int lat = strcmp(mode, "lat") == 0;
  *max_iter = 0;
  *over1 = *over10 = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < N; i++) {
    int64_t s = lat ? now_ns() : 0;
    /* rebinding a, b, c drops the previous ring */
    if (a) pygc_decref(H, a);
    if (b) pygc_decref(H, b);
    if (c) pygc_decref(H, c);
    a = node(pygc_none(), "next", 4);
    b = node(pygc_obj(a), "next", 4);
    c = node(pygc_obj(b), "next", 4);
    set_ref(a, pygc_obj(c), "next", 4);
    if (lat) {
      int64_t d = now_ns() - s;
      if (d > *max_iter) *max_iter = d;
      if (d > 1000000) (*over1)++;
      if (d > 10000000) (*over10)++;
    }
  }
  *total = now_ns() - t0;
  pygc_decref(H, a);
  pygc_decref(H, b);
  pygc_decref(H, c);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: w_pygc W1..W5 list|inst [plain|lat|nogc] [N]\n");
    return 2;
  }
  const char *w = argv[1];
  inst = strcmp(argv[2], "inst") == 0;
  const char *mode = argc > 3 ? argv[3] : "plain";
  if (argc > 4) N = atol(argv[4]);
  H = pygc_heap_new(NULL, NULL, 0);
  const char *collector = getenv("PYGC_COLLECTOR");
  int incremental = collector && strcmp(collector, "incremental") == 0;
  pygc_set_incremental(H, incremental);
  pygc_hooks hk = {0};
  hk.callback = on_callback;
  pygc_set_hooks(H, &hk);
  Node = pygc_class_new(H, "Node", 4, 0);
  printf("{\"system\": \"%s\", \"workload\": \"%s\", \"kind\": \"%s\", \"mode\": \"%s\", \"N\": %ld", incremental ? "pygc-c-inc" : "pygc-c", w, argv[2], mode, N);

  if (strcmp(w, "W1") == 0) {
    pygc_collect(H, 2);
    pygc_disable(H);
    int64_t b0 = now_ns();
    for (long i = 0; i < N / 2; i++) {
      pygc_object *a = node(pygc_none(), "other", 5);
      pygc_object *b = node(pygc_obj(a), "other", 5);
      set_ref(a, pygc_obj(b), "other", 5);
      pygc_decref(H, a);
      pygc_decref(H, b);
    }
    int64_t t0 = now_ns();
    intptr_t got = pygc_collect(H, 2);
    int64_t t1 = now_ns();
    printf(", \"build_ms\": %.3f, \"collect_ms\": %.3f, \"ns_per_obj\": %.2f, \"collected\": %ld", (t0 - b0) / 1e6,
           (t1 - t0) / 1e6, (double)(t1 - t0) / (double)N, (long)got);
  } else if (strcmp(w, "W2") == 0) {
    pygc_collect(H, 2);
    pygc_disable(H);
    int64_t b0 = now_ns();
    pygc_object *root = build_w2();
    int64_t t = now_ns();
    pygc_collect(H, 2);
    int64_t first = now_ns() - t;
    int64_t s[3];
    for (int i = 0; i < 3; i++) {
      t = now_ns();
      pygc_collect(H, 2);
      s[i] = now_ns() - t;
    }
    int64_t lo = s[0] < s[1] ? s[0] : s[1], hi = s[0] < s[1] ? s[1] : s[0];
    int64_t steady = s[2] < lo ? lo : s[2] > hi ? hi : s[2];
    double objs = 1001001.0;
    printf(", \"build_ms\": %.3f, \"first_ms\": %.3f, \"ns_per_obj_first\": %.2f, \"steady_ms\": %.3f, \"ns_per_obj\": %.2f",
           (t - b0) / 1e6, first / 1e6, first / objs, steady / 1e6, steady / objs);
    pygc_decref(H, root);
  } else if (strcmp(w, "W3") == 0 || strcmp(w, "W4") == 0) {
    pygc_object *root = NULL;
    if (w[1] == '4') {
      pygc_collect(H, 2);
      pygc_disable(H);
      root = build_w2();
      pygc_collect(H, 2);
    } else {
      pygc_collect(H, 2);
    }
    if (strcmp(mode, "nogc") == 0)
      pygc_disable(H);
    else
      pygc_enable(H);
    gc_ns = max_pause_ns = 0;
    memset(collections, 0, sizeof collections);
    int64_t total, max_iter;
    long over1, over10;
    churn(mode, &total, &max_iter, &over1, &over10);
    printf(", \"total_ms\": %.3f, \"ns_per_iter\": %.2f, \"gc_ms\": %.3f, \"gc_share\": %.3f, \"max_gc_pause_ms\": %.4f"
           ", \"collections\": [%ld, %ld, %ld]",
           total / 1e6, (double)total / (double)N, gc_ns / 1e6, total ? (double)gc_ns / (double)total : 0.0,
           max_pause_ns / 1e6, collections[0], collections[1], collections[2]);
    if (strcmp(mode, "lat") == 0)
      printf(", \"max_iter_ms\": %.4f, \"iters_over_1ms\": %ld, \"iters_over_10ms\": %ld", max_iter / 1e6, over1, over10);
    if (root) pygc_decref(H, root);
  } else if (strcmp(w, "W5") == 0) {
    pygc_collect(H, 2);
    pygc_disable(H);
    pygc_object *h = NULL;
    for (long i = 0; i < N; i++) {
      pygc_object *x = node(h ? pygc_obj(h) : pygc_none(), "next", 4);
      if (h) pygc_decref(H, h);
      h = x;
    }
    int64_t t = now_ns();
    pygc_collect(H, 2);
    int64_t live = now_ns() - t;
    t = now_ns();
    pygc_decref(H, h);
    int64_t drop = now_ns() - t;
    printf(", \"collect_live_ms\": %.3f, \"drop_ms\": %.3f, \"ns_per_obj\": %.2f, \"ok\": true", live / 1e6, drop / 1e6,
           (double)drop / (double)N);
  }
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  printf(", \"peak_heap_mb\": %.1f}\n", in.peak_bytes / 1048576.0);
  pygc_decref(H, Node);
  pygc_heap_free(H);
  return 0;
}
