/* outside.c -- built by the test run outside the source tree, with only
 * the installed header and `pkg-config --cflags --libs pygc`: a host type
 * forms cycles and the collector reclaims them. */
#include <pygc.h>
#include <stdio.h>

typedef struct link {
  pygc_object h;
  pygc_value next;
} link;

static int freed;
static int link_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  link *l = (link *)o;
  return l->next.tag == PYGC_TOBJ ? visit(&l->next, arg) : 0;
}
static void link_clear(pygc_heap *h, pygc_object *o) {
  link *l = (link *)o;
  pygc_value v = l->next;
  l->next = pygc_none();
  pygc_value_decref(h, v);
}
static void link_free(pygc_heap *h, pygc_object *o) {
  (void)h;
  (void)o;
  freed++;
}
static size_t link_size(const pygc_object *o) {
  (void)o;
  return sizeof(link);
}
static const pygc_type link_type = {.name = "Link", .flags = PYGC_TYPE_GC, .traverse = link_traverse,
                                    .clear = link_clear, .free = link_free, .size = link_size};

int main(void) {
  pygc_heap *h = pygc_heap_new(NULL, NULL, 0);
  pygc_disable(h); /* one explicit collection finds every ring */
  for (int ring = 0; ring < 100; ring++) {
    link *first = (link *)pygc_object_new(h, &link_type, sizeof(link)), *cur = first;
    first->next = pygc_none();
    pygc_track(h, &first->h);
    for (int i = 0; i < 9; i++) {
      link *n = (link *)pygc_object_new(h, &link_type, sizeof(link));
      n->next = pygc_none();
      pygc_track(h, &n->h);
      cur->next = pygc_obj(&n->h); /* takes n's creation reference */
      cur = n;
    }
    pygc_incref(&first->h);
    cur->next = pygc_obj(&first->h); /* close the ring */
    pygc_decref(h, &first->h);
  }
  intptr_t n = pygc_collect(h, 2);
  char msg[256];
  int bad = pygc_heap_verify(h, msg, sizeof msg);
  pygc_heap_free(h);
  printf("outside: collected %ld, freed %d, verify %s\n", (long)n, freed, bad ? msg : "ok");
  return n == 1000 && freed == 1000 && !bad ? 0 : 1;
}
