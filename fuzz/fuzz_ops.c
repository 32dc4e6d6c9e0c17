/*
 * fuzz_ops.c -- libFuzzer driver for lib/: the input is decoded into a
 * sequence of C-API operations on a few live objects (create, store,
 * delete, release, collect any generation, freeze, debug flags, finalizers
 * and callbacks that resurrect, allocate, collect, or fail allocations).
 * pygc_heap_verify() runs after every step (and from finalizers, which run
 * in the middle of refcount chain releases); at the end every block the
 * heap allocated must be back.  A host type (Node) joins in, and every
 * walk -- traverse, get_referents, pygc_edges -- must agree on what each
 * object holds.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pygc.h"

#define NSLOTS 8

typedef struct fz_alloc {
  long live, count, fail_at;
} fz_alloc;

static void *fz_allocf(void *ud, void *ptr, size_t osize, size_t nsize) {
  fz_alloc *a = ud;
  (void)osize;
  if (nsize == 0) {
    if (ptr) a->live--;
    free(ptr);
    return NULL;
  }
  a->count++;
  if (a->fail_at && a->count >= a->fail_at && a->count < a->fail_at + 3) return NULL;
  void *p = realloc(ptr, nsize);
  if (p && !ptr) a->live++;
  return p;
}

typedef struct fz {
  const uint8_t *data;
  size_t size, pos;
  pygc_heap *h;
  fz_alloc alloc;
  pygc_object *slot[NSLOTS];
  pygc_object *cls[3]; /* plain, finalizer, legacy */
  pygc_object *keeper; /* a list finalizers resurrect into */
  int fin_mode, cb_mode;
  int in_hook;
} fz;

static fz *F; /* the hooks reach the current state through this */

/* ---- Node: a host type with two slots ------------------------------------ */
typedef struct node {
  pygc_object h;
  pygc_value s[2];
} node;
static int node_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  node *n = (node *)o;
  int r;
  for (int i = 0; i < 2; i++)
    if (n->s[i].tag == PYGC_TOBJ && (r = visit(&n->s[i], arg))) return r;
  return 0;
}
static void node_clear(pygc_heap *h, pygc_object *o) {
  node *n = (node *)o;
  pygc_value a = n->s[0], b = n->s[1];
  n->s[0] = n->s[1] = pygc_none();
  pygc_value_decref(h, a);
  pygc_value_decref(h, b);
}
static size_t node_size(const pygc_object *o) {
  (void)o;
  return sizeof(node);
}
static const char *node_slot_name(const pygc_object *o, const pygc_value *slot) {
  return slot == &((const node *)o)->s[0] ? "first" : "second";
}
static const pygc_type node_type = {.name = "Node",
                                    .flags = PYGC_TYPE_GC,
                                    .traverse = node_traverse,
                                    .clear = node_clear,
                                    .size = node_size,
                                    .slot_name = node_slot_name};

static int count_visit(pygc_value *slot, void *arg) {
  (void)slot;
  (*(size_t *)arg)++;
  return 0;
}
typedef struct edge_counts {
  size_t n[8];
} edge_counts;
static int count_edge(const pygc_edge *e, void *arg) {
  edge_counts *c = arg;
  if (e->kind != PYGC_EDGE_CYCLE && e->kind != PYGC_EDGE_OWNED && e->kind != PYGC_EDGE_VALUE) abort();
  if ((e->kind == PYGC_EDGE_VALUE) == (e->child.tag == PYGC_TOBJ)) abort(); /* kind and child disagree */
  c->n[e->kind]++;
  return 0;
}
/* every walk over o's children must tell the same story */
static void check_walks(pygc_heap *h, pygc_object *o) {
  size_t trav = 0, refs = 0;
  pygc_traverse(o, count_visit, &trav);
  pygc_referents(o, count_visit, &refs);
  edge_counts c;
  memset(&c, 0, sizeof c);
  pygc_edges(h, o, PYGC_EDGE_ALL, count_edge, &c);
  if (c.n[PYGC_EDGE_CYCLE] != trav || c.n[PYGC_EDGE_CYCLE] + c.n[PYGC_EDGE_VALUE] != refs) {
    fprintf(stderr, "fuzz_ops: walks disagree on a %s: traverse %zu, referents %zu, edges %zu/%zu/%zu\n",
            o->type->name, trav, refs, c.n[1], c.n[2], c.n[4]);
    abort();
  }
}

static unsigned next(fz *z) { return z->pos < z->size ? z->data[z->pos++] : 0; }

static void fail(const char *what, const char *msg) {
  fprintf(stderr, "fuzz_ops: %s: %s\n", what, msg);
  abort();
}

static void verify(fz *z, const char *after) {
  char msg[512];
  if (pygc_heap_verify(z->h, msg, sizeof msg)) fail(after, msg);
}

static void put(fz *z, int i, pygc_object *o) {
  /* detach first, decref last: the decref may run hooks that put too */
  pygc_object *old = z->slot[i];
  z->slot[i] = o;
  if (old) pygc_decref(z->h, old);
}

static pygc_value some_value(fz *z) {
  unsigned k = next(z);
  switch (k % 6) {
  case 0: return pygc_none();
  case 1: return pygc_int((int64_t)(k * 7919u) - 500);
  case 2: return pygc_float(k / 3.0);
  case 3: return pygc_bool(k & 1);
  default: {
    pygc_object *o = z->slot[next(z) % NSLOTS];
    return o ? pygc_obj(o) : pygc_int(k);
  }
  }
}

static void hook_finalize(void *ud, pygc_heap *h, pygc_object *o) {
  fz *z = ud;
  z->in_hook++;
  switch (z->fin_mode % 6) {
  case 1: pygc_list_append(h, z->keeper, pygc_obj(o)); break; /* resurrect */
  case 2: {                                                   /* a new cycle */
    pygc_object *l = pygc_list_new(h, 0);
    if (l) {
      pygc_list_append(h, l, pygc_obj(l));
      pygc_decref(h, l);
    }
    break;
  }
  case 3: pygc_collect(h, 2); break; /* returns 0 inside a collection */
  case 4: pygc_setattr(h, o, "zombie", 6, pygc_obj(o)); break;
  case 5: verify(z, "finalizer"); break; /* possibly in the middle of a chain release */
  default: break;
  }
  z->in_hook--;
}

static void hook_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  fz *z = ud;
  (void)phase;
  (void)info;
  if (z->cb_mode % 3 == 1) {
    pygc_object *d = pygc_dict_new(h);
    if (d) {
      pygc_dict_set(h, d, pygc_int(1), pygc_obj(d));
      pygc_decref(h, d);
    }
  } else if (z->cb_mode % 3 == 2) {
    pygc_collect(h, 0);
  }
}

static void hook_write(void *ud, const char *text, size_t len) {
  (void)ud;
  (void)text;
  (void)len;
}

static void hook_unraisable(void *ud, pygc_heap *h, int st, const char *what, pygc_object *o) {
  (void)ud;
  (void)h;
  (void)st;
  (void)what;
  (void)o;
}

/* a weakref callback: allocates, makes weakrefs, collects, frees slots */
static void hook_weakref(void *ud, pygc_heap *h, pygc_object *wr) {
  fz *z = ud;
  (void)wr;
  z->in_hook++;
  switch (z->fin_mode % 4) {
  case 1: {
    pygc_object *l = pygc_list_new(h, 0);
    if (l) {
      pygc_object *w = pygc_weakref_new(h, l, pygc_int(1), 0, NULL);
      pygc_decref(h, l);
      if (w) pygc_decref(h, w);
    }
    break;
  }
  case 2: pygc_collect(h, 2); break;
  case 3: put(z, (int)(next(z) % NSLOTS), NULL); break;
  default: break;
  }
  z->in_hook--;
}

static void step(fz *z) {
  pygc_heap *h = z->h;
  unsigned op = next(z), i = next(z) % NSLOTS, j = next(z) % NSLOTS;
  pygc_object *a = z->slot[i];
  switch (op % 30) {
  case 0: put(z, (int)i, pygc_list_new(h, next(z) % 4)); break;
  case 1: put(z, (int)i, pygc_dict_new(h)); break;
  case 2: {
    pygc_value items[4];
    size_t n = next(z) % 5;
    for (size_t k = 0; k < n; k++) items[k] = some_value(z);
    put(z, (int)i, pygc_tuple_new(h, n, items));
    break;
  }
  case 3: put(z, (int)i, pygc_instance_new(h, z->cls[next(z) % 3])); break;
  case 4: {
    char buf[80];
    size_t n = next(z) % 70;
    memset(buf, 'a' + (int)(next(z) % 26), n);
    put(z, (int)i, pygc_str_new(h, buf, n));
    break;
  }
  case 5:
    if (a && a->type == &pygc_list_type) pygc_list_append(h, a, some_value(z));
    break;
  case 6:
    if (a && a->type == &pygc_list_type && pygc_list_len(a)) {
      size_t k = next(z) % pygc_list_len(a);
      if (next(z) & 1)
        pygc_list_pop(h, a, k, NULL);
      else
        pygc_list_set(h, a, k, some_value(z));
    }
    break;
  case 7:
    if (a && a->type == &pygc_dict_type) pygc_dict_set(h, a, some_value(z), some_value(z));
    break;
  case 8:
    if (a && a->type == &pygc_dict_type) pygc_dict_del(h, a, some_value(z));
    break;
  case 9:
    if (a && a->type == &pygc_instance_type) {
      char name[2] = {(char)('a' + next(z) % 4), 0};
      if (next(z) & 1)
        pygc_delattr(h, a, name, 1);
      else
        pygc_setattr(h, a, name, 1, some_value(z));
    }
    break;
  case 10: put(z, (int)i, NULL); break;
  case 11: pygc_collect(h, (int)(next(z) % 3)); break;
  case 12: pygc_freeze(h); break;
  case 13: pygc_unfreeze(h); break;
  case 14: pygc_set_debug(h, (next(z) & 1) ? PYGC_DEBUG_SAVEALL | PYGC_DEBUG_LEAK : 0); break;
  case 15: pygc_set_threshold(h, 0, next(z) % 20); break;
  case 16: pygc_list_clear(h, pygc_garbage(h)); break;
  case 17:
    if (a) {
      pygc_buf b = {0};
      pygc_repr_limited(h, pygc_obj(a), &b, 1 << 16);
      pygc_buf_free(h, &b);
    }
    break;
  case 18:
    if (a) {
      pygc_value t = pygc_obj(a);
      pygc_get_referrers(h, &t, 1, NULL, NULL);
      pygc_get_objects(h, -1, NULL, NULL);
    }
    break;
  case 19:
    if (a) {
      pygc_incref(a);
      put(z, (int)j, a);
    }
    break;
  case 20: z->alloc.fail_at = z->alloc.count + 1 + next(z) % 16; break;
  case 21:
    z->fin_mode = (int)next(z);
    z->cb_mode = (int)next(z);
    break;
  case 22: pygc_set_incremental(h, (int)(next(z) & 1)); break;
  case 23: pygc_collect(h, 1); break; /* an increment in incremental mode */
  case 27: /* a weakref or proxy to a, with or without a callback */
    if (a) put(z, (int)j, pygc_weakref_new(h, a, (next(z) & 1) ? pygc_int(1) : pygc_none(), (int)(next(z) & 1), NULL));
    break;
  case 28: /* read a weakref: hold what it gives */
    if (a && pygc_weakref_get(a)) {
      pygc_object *o = pygc_weakref_get(a);
      pygc_incref(o);
      put(z, (int)j, o);
    }
    break;
  case 29:
    if (a) (void)pygc_weakrefs(h, a, NULL, NULL);
    break;
  case 24: {
    node *n = (node *)pygc_object_new(h, &node_type, sizeof(node));
    if (n) {
      n->s[0] = n->s[1] = pygc_none();
      pygc_track(h, &n->h);
    }
    put(z, (int)i, n ? &n->h : NULL);
    break;
  }
  case 25:
    if (a && a->type == &node_type) {
      node *n = (node *)a;
      int k = (int)(next(z) & 1);
      pygc_value v = some_value(z), old = n->s[k];
      pygc_value_incref(v);
      n->s[k] = v;
      pygc_value_decref(h, old); /* last: may run finalizers */
    }
    break;
  case 26:
    if (a) {
      check_walks(h, a);
      /* typed accessors on whatever a is: a defined answer, never a crash */
      pygc_value v;
      size_t pos = 0;
      (void)pygc_list_len(a);
      (void)pygc_tuple_len(a);
      (void)pygc_dict_len(a);
      (void)pygc_list_get(a, 0, &v);
      (void)pygc_tuple_get(a, 0, &v);
      (void)pygc_class_name(a);
      (void)pygc_attr_count(a);
      (void)pygc_dict_next(a, &pos, NULL, NULL);
      (void)pygc_str_data(a, NULL);
    }
    break;
  }
  if (z->alloc.fail_at && z->alloc.count > z->alloc.fail_at + 3) z->alloc.fail_at = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz z;
  memset(&z, 0, sizeof z);
  z.data = data;
  z.size = size;
  F = &z;
  z.h = pygc_heap_new(fz_allocf, &z.alloc, 7);
  if (!z.h) return 0;
  pygc_hooks hk = {0};
  hk.ud = &z;
  hk.finalize = hook_finalize;
  hk.callback = hook_callback;
  hk.write = hook_write;
  hk.unraisable = hook_unraisable;
  hk.weakref_callback = hook_weakref;
  pygc_set_hooks(z.h, &hk);
  z.cls[0] = pygc_class_new(z.h, "Plain", 5, 0);
  z.cls[1] = pygc_class_new(z.h, "Fin", 3, PYGC_CLASS_FINALIZER);
  z.cls[2] = pygc_class_new(z.h, "Legacy", 6, PYGC_CLASS_LEGACY | PYGC_CLASS_FINALIZER);
  z.keeper = pygc_list_new(z.h, 0);
  if (!z.cls[0] || !z.cls[1] || !z.cls[2] || !z.keeper) abort();
  while (z.pos < z.size) {
    step(&z);
    verify(&z, "step");
  }
  z.alloc.fail_at = 0;
  for (int i = 0; i < NSLOTS; i++) put(&z, i, NULL);
  pygc_unfreeze(z.h);
  pygc_set_debug(z.h, 0);
  pygc_list_clear(z.h, z.keeper);
  pygc_collect(z.h, 2);
  verify(&z, "end");
  for (int i = 0; i < 3; i++) pygc_decref(z.h, z.cls[i]);
  pygc_decref(z.h, z.keeper);
  pygc_heap_free(z.h);
  if (z.alloc.live != 0) fail("end", "blocks leaked");
  return 0;
}

#ifdef FUZZ_STANDALONE
/* Without libFuzzer: run each file given, or random inputs for N seconds. */
#include <time.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--random") == 0) {
    double secs = argc > 2 ? atof(argv[2]) : 5;
    unsigned seed = argc > 3 ? (unsigned)atoi(argv[3]) : (unsigned)time(NULL);
    srand(seed);
    time_t start = time(NULL);
    long runs = 0;
    uint8_t buf[4096];
    while (difftime(time(NULL), start) < secs) {
      size_t n = (size_t)(rand() % (int)sizeof buf);
      for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)rand();
      LLVMFuzzerTestOneInput(buf, n);
      runs++;
    }
    printf("%ld random inputs, seed %u\n", runs, seed);
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) continue;
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
  }
  printf("%d inputs replayed\n", argc - 1);
  return 0;
}
#endif
