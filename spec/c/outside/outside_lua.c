/* outside_lua.c -- built by the test run outside the source tree, with only
 * the installed headers and `pkg-config --cflags --libs pygc-lua`: a C
 * program that embeds Lua 5.4 and pygc, gives a host type a method, lets a
 * script build rings of host objects and checks the collector reclaims
 * them.  Run without LD_LIBRARY_PATH: the installed libraries must be found
 * by the dynamic linker (the .pc's rpath, or ldconfig for system dirs). */
#include <lauxlib.h>
#include <lpygc.h>
#include <lualib.h>
#include <stdio.h>

typedef struct box {
  pygc_object h;
  pygc_value next;
} box;

static int freed;
static int box_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  box *b = (box *)o;
  return b->next.tag == PYGC_TOBJ ? visit(&b->next, arg) : 0;
}
static void box_clear(pygc_heap *h, pygc_object *o) {
  box *b = (box *)o;
  pygc_value v = b->next;
  b->next = pygc_none();
  pygc_value_decref(h, v);
}
static void box_free(pygc_heap *h, pygc_object *o) {
  (void)h;
  (void)o;
  freed++;
}
static size_t box_size(const pygc_object *o) {
  (void)o;
  return sizeof(box);
}
static const pygc_type box_type = {.name = "Box", .flags = PYGC_TYPE_GC, .traverse = box_traverse,
                                   .clear = box_clear, .free = box_free, .size = box_size};

static int l_box(lua_State *L) {
  pygc_heap *h = pygc_lua_heap(L);
  box *b = (box *)pygc_object_new(h, &box_type, sizeof(box));
  if (!b) return luaL_error(L, "not enough memory");
  b->next = pygc_none();
  pygc_track(h, &b->h);
  pygc_lua_push(L, &b->h);
  pygc_decref(h, &b->h); /* the handle owns it now */
  return 1;
}

static int l_link(lua_State *L) { /* a:link(b): a holds b */
  pygc_object *a = pygc_lua_check(L, 1), *b = pygc_lua_check(L, 2);
  if (a->type != &box_type) return luaL_typeerror(L, 1, "Box");
  pygc_value old = ((box *)a)->next;
  pygc_incref(b);
  ((box *)a)->next = pygc_obj(b);
  pygc_value_decref(pygc_lua_heap(L), old);
  return 0;
}

static const char script[] =
    "local gc = require 'pygc'\n"
    "gc.disable()\n"
    "for _ = 1, 50 do\n"
    "  local a, b = box(), box()\n"
    "  a:link(b); b:link(a)\n"
    "end\n"
    "collectgarbage(); collectgarbage()\n"
    "local n = gc.collect()\n"
    "assert(n == 100, 'collected ' .. n)\n"
    "assert(gc._verify())\n"
    "print('outside_lua: pygc ' .. gc._VERSION .. ', collected ' .. n)\n";

int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "pygc", luaopen_pygc, 0);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, l_link);
  lua_setfield(L, -2, "link");
  pygc_lua_set_methods(L, &box_type);
  lua_register(L, "box", l_box);
  int bad = luaL_dostring(L, script);
  if (bad) fprintf(stderr, "outside_lua: %s\n", lua_tostring(L, -1));
  lua_close(L);
  printf("outside_lua: freed %d boxes\n", freed);
  return !bad && freed == 100 ? 0 : 1;
}
