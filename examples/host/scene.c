/*
 * scene.c -- a C program that embeds Lua 5.4 and pygc, registers a host
 * type (a scene-graph node with a parent back-link and a list of
 * children), lets a Lua script build cyclic scenes, and shows pygc's
 * collector reclaiming them.
 *
 *   build/scene_host examples/host/scene.lua
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "lpygc.h"

/* ---- the host type ------------------------------------------------------- */

typedef struct node {
  pygc_object h;       /* first: every pygc object starts with the header */
  pygc_value parent;   /* None or a node: the back-link that makes cycles */
  pygc_value children; /* a pygc list of nodes */
  char name[32];
} node;

static long nodes_alive, nodes_finalized;

static int node_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  node *n = (node *)o;
  int r;
  if (n->parent.tag == PYGC_TOBJ && (r = visit(&n->parent, arg))) return r;
  if (n->children.tag == PYGC_TOBJ && (r = visit(&n->children, arg))) return r;
  return 0;
}

/* names for the slots traverse visits, for the toolkit's labels */
static const char *node_slot_name(const pygc_object *o, const pygc_value *slot) {
  const node *n = (const node *)o;
  return slot == &n->parent ? "parent" : slot == &n->children ? "children" : NULL;
}

static void node_clear(pygc_heap *h, pygc_object *o) {
  node *n = (node *)o;
  pygc_value p = n->parent, c = n->children; /* detach first, decref last */
  n->parent = n->children = pygc_none();
  pygc_value_decref(h, p);
  pygc_value_decref(h, c);
}

static void node_finalize(pygc_heap *h, pygc_object *o) {
  (void)h;
  (void)o;
  nodes_finalized++; /* a real host would release a GPU buffer here */
}

static void node_free(pygc_heap *h, pygc_object *o) {
  (void)h;
  (void)o;
  nodes_alive--;
}

static size_t node_size(const pygc_object *o) {
  (void)o;
  return sizeof(node);
}

static const pygc_type node_type = {
    .name = "SceneNode",
    .flags = PYGC_TYPE_GC,
    .traverse = node_traverse,
    .clear = node_clear,
    .finalize = node_finalize,
    .free = node_free,
    .size = node_size,
    .slot_name = node_slot_name,
};

static node *checknode(lua_State *L, int idx) {
  pygc_object *o = pygc_lua_check(L, idx);
  if (o->type != &node_type) luaL_typeerror(L, idx, "SceneNode");
  return (node *)o;
}

/* ---- what scripts see -------------------------------------------------------- */

static int l_node(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  pygc_heap *h = pygc_lua_heap(L);
  pygc_object *kids = pygc_list_new(h, 0);
  if (!kids) return luaL_error(L, "not enough memory");
  node *n = (node *)pygc_object_new(h, &node_type, sizeof(node));
  if (!n) {
    pygc_decref(h, kids);
    return luaL_error(L, "not enough memory");
  }
  n->parent = pygc_none();
  n->children = pygc_obj(kids); /* takes the creation reference */
  snprintf(n->name, sizeof n->name, "%.*s", (int)(len < 31 ? len : 31), name);
  nodes_alive++;
  pygc_track(h, &n->h);
  pygc_lua_push(L, &n->h);
  pygc_decref(h, &n->h); /* the handle owns it now */
  return 1;
}

static int l_add(lua_State *L) { /* parent:add(child) -> child */
  node *p = checknode(L, 1), *c = checknode(L, 2);
  pygc_heap *h = pygc_lua_heap(L);
  if (pygc_list_append(h, p->children.u.o, pygc_obj(&c->h)) != PYGC_OK) return luaL_error(L, "not enough memory");
  pygc_value old = c->parent;
  pygc_incref(&p->h);
  c->parent = pygc_obj(&p->h);
  pygc_value_decref(h, old);
  lua_settop(L, 2);
  return 1;
}

static int l_name(lua_State *L) {
  lua_pushstring(L, checknode(L, 1)->name);
  return 1;
}

static int l_parent(lua_State *L) {
  pygc_lua_pushvalue(L, checknode(L, 1)->parent);
  return 1;
}

static int l_children(lua_State *L) {
  pygc_lua_pushvalue(L, checknode(L, 1)->children);
  return 1;
}

static int l_stats(lua_State *L) {
  lua_pushinteger(L, nodes_alive);
  lua_pushinteger(L, nodes_finalized);
  return 2;
}

static int luaopen_scene(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"add", l_add}, {"name", l_name}, {"parent", l_parent}, {"children", l_children}, {NULL, NULL}};
  luaL_newlib(L, methods);
  pygc_lua_set_methods(L, &node_type); /* node:add(), node:name(), ... */
  static const luaL_Reg funcs[] = {{"node", l_node}, {"stats", l_stats}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}

int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : "examples/host/scene.lua";
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "pygc", luaopen_pygc, 0);
  lua_pop(L, 1);
  luaL_requiref(L, "scene", luaopen_scene, 0);
  lua_pop(L, 1);
  int ok = luaL_dofile(L, script) == LUA_OK;
  if (!ok) fprintf(stderr, "scene_host: %s\n", lua_tostring(L, -1));
  lua_close(L);
  printf("host: after lua_close, %ld nodes alive, %ld finalized in all\n", nodes_alive, nodes_finalized);
  return ok && nodes_alive == 0 ? 0 : 1;
}
