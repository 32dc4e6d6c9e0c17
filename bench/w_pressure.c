/*
 * w_pressure.c -- the three workloads that made CPython 3.14.5 revert its
 * incremental collector (memory grew 2.7x to 5x), re-created with pygc
 * objects, run with either collector at default thresholds:
 *   P1 http:      per-request reference cycles in an HTTP client (client <->
 *                 response, headers, a body) that live for the last 64
 *                 requests, then die old
 *   P2 migration: temporary class graphs (5,000 model instances with cross
 *                 references) built, walked and dropped, step after step
 *   P3 list:      a long doubly linked list churned: 100 nodes appended at
 *                 the tail and a 100-node chunk (a cycle) cut from the head
 *   w_pressure P1|P2|P3 generational|incremental [scale]
 * prints one JSON line: peak heap bytes, time, GC pauses (wall time, and
 * this thread's CPU time, which a noisy neighbour does not lengthen; the
 * longest full collection's too, the yardstick for incremental pauses).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pygc.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* this thread's CPU time: a pause measured so excludes the time another
 * process held the core (the machines are shared), which wall time counts */
static int64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pygc_heap *H;
static int64_t cb_start, cb_cpu, gc_ns, max_pause, max_pause_cpu, max_full_cpu;
static long pauses_over_1ms, collections;
static void on_cb(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  (void)ud;
  (void)h;
  if (phase[2] == 'a') {
    cb_start = now_ns();
    cb_cpu = cpu_ns();
  } else {
    int64_t d = now_ns() - cb_start, c = cpu_ns() - cb_cpu;
    gc_ns += d;
    if (d > max_pause) max_pause = d;
    if (c > max_pause_cpu) max_pause_cpu = c;
    if (info->generation == 2 && c > max_full_cpu) max_full_cpu = c;
    if (d > 1000000) pauses_over_1ms++;
    collections++;
  }
}

static void set(pygc_object *o, const char *name, pygc_value v) { pygc_setattr(H, o, name, strlen(name), v); }

static void p1_http(double scale) {
  pygc_object *Client = pygc_class_new(H, "Client", 6, 0), *Response = pygc_class_new(H, "Response", 8, 0);
  pygc_object *window = pygc_list_new(H, 64);
  long n = (long)(200000 * scale);
  for (long i = 0; i < n; i++) {
    pygc_object *c = pygc_instance_new(H, Client), *r = pygc_instance_new(H, Response);
    pygc_object *headers = pygc_dict_new(H), *body = pygc_list_new(H, 50);
    for (int k = 0; k < 50; k++) pygc_list_append(H, body, pygc_int(i + k));
    pygc_dict_set(H, headers, pygc_int(1), pygc_obj(r));
    set(c, "response", pygc_obj(r));
    set(r, "client", pygc_obj(c)); /* the cycle */
    set(r, "headers", pygc_obj(headers));
    set(r, "body", pygc_obj(body));
    if (pygc_list_len(window) < 64)
      pygc_list_append(H, window, pygc_obj(c));
    else
      pygc_list_set(H, window, (size_t)(i % 64), pygc_obj(c));
    pygc_decref(H, c);
    pygc_decref(H, r);
    pygc_decref(H, headers);
    pygc_decref(H, body);
  }
  pygc_decref(H, window);
  pygc_decref(H, Client);
  pygc_decref(H, Response);
}

static void p2_migration(double scale) {
  pygc_object *Model = pygc_class_new(H, "Model", 5, 0);
  long steps = (long)(200 * scale) + 1;
  enum { G = 5000 };
  pygc_object **nodes = malloc(sizeof *nodes * G);
  unsigned seed = 12345;
  for (long s = 0; s < steps; s++) {
    for (int i = 0; i < G; i++) {
      nodes[i] = pygc_instance_new(H, Model);
      set(nodes[i], "id", pygc_int(i));
    }
    for (int i = 0; i < G; i++) { /* cross references: cycles everywhere */
      seed = seed * 1103515245u + 12345u;
      set(nodes[i], "parent", pygc_obj(nodes[(seed >> 8) % G]));
      seed = seed * 1103515245u + 12345u;
      set(nodes[i], "related", pygc_obj(nodes[(seed >> 8) % G]));
    }
    for (int i = 0; i < G; i++) { /* the migration walks the graph */
      pygc_value v;
      if (pygc_getattr(H, nodes[i], "parent", 6, &v) == PYGC_OK) set(nodes[i], "migrated", pygc_bool(1));
    }
    for (int i = 0; i < G; i++) pygc_decref(H, nodes[i]); /* dropped: garbage cycles */
  }
  free(nodes);
  pygc_decref(H, Model);
}

static void p3_list(double scale) {
  pygc_object *Node = pygc_class_new(H, "Node", 4, 0);
  enum { LIVE = 100000, CHUNK = 100 };
  pygc_object *head = pygc_instance_new(H, Node), *tail = head;
  pygc_incref(tail);
  for (int i = 1; i < LIVE; i++) {
    pygc_object *n = pygc_instance_new(H, Node);
    set(tail, "next", pygc_obj(n));
    set(n, "prev", pygc_obj(tail));
    pygc_decref(H, tail);
    tail = n;
  }
  long rounds = (long)(20000 * scale);
  for (long r = 0; r < rounds; r++) {
    for (int i = 0; i < CHUNK; i++) {
      pygc_object *n = pygc_instance_new(H, Node);
      set(tail, "next", pygc_obj(n));
      set(n, "prev", pygc_obj(tail));
      pygc_decref(H, tail);
      tail = n;
    }
    /* cut a CHUNK-node segment off the head: still doubly linked inside */
    pygc_object *cut = head;
    for (int i = 0; i < CHUNK; i++) {
      pygc_value v;
      pygc_getattr(H, cut, "next", 4, &v);
      cut = v.u.o;
    }
    pygc_value prev;
    pygc_getattr(H, cut, "prev", 4, &prev);
    pygc_incref(cut);
    pygc_setattr(H, prev.u.o, "next", 4, pygc_none()); /* the segment's end */
    pygc_delattr(H, cut, "prev", 4);
    pygc_decref(H, head);
    head = cut; /* the old head segment is now a garbage cycle */
  }
  pygc_decref(H, head);
  pygc_decref(H, tail);
  pygc_decref(H, Node);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: w_pressure P1|P2|P3 generational|incremental [scale]\n");
    return 2;
  }
  double scale = argc > 3 ? atof(argv[3]) : 1.0;
  H = pygc_heap_new(NULL, NULL, 0);
  pygc_hooks hk = {0};
  hk.callback = on_cb;
  pygc_set_hooks(H, &hk);
  pygc_set_incremental(H, strcmp(argv[2], "incremental") == 0);
  int64_t t0 = now_ns();
  if (strcmp(argv[1], "P1") == 0)
    p1_http(scale);
  else if (strcmp(argv[1], "P2") == 0)
    p2_migration(scale);
  else
    p3_list(scale);
  int64_t total = now_ns() - t0;
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  printf("{\"system\": \"pygc-c\", \"workload\": \"%s\", \"collector\": \"%s\", \"total_ms\": %.3f, \"gc_ms\": %.3f"
         ", \"max_gc_pause_ms\": %.4f, \"max_gc_pause_cpu_ms\": %.4f, \"max_full_cpu_ms\": %.4f"
         ", \"pauses_over_1ms\": %ld, \"collections\": %ld, \"peak_heap_mb\": %.2f}\n",
         argv[1], argv[2], total / 1e6, gc_ns / 1e6, max_pause / 1e6, max_pause_cpu / 1e6, max_full_cpu / 1e6,
         pauses_over_1ms, collections, in.peak_bytes / 1048576.0);
  pygc_heap_free(H);
  return 0;
}
