/*
 * lpygc.h -- for C programs that embed Lua 5.4 and pygc together.
 *
 * Link binding/lpygc.c (or libpygc_lua.a from `make install`) with the core
 * and liblua5.4.  Objects of host types (pygc_object_new) reach Lua as
 * handles like any other; pygc_lua_set_methods gives a host type methods
 * and fields that scripts reach as obj:method() and obj.field.
 */
#ifndef LPYGC_H
#define LPYGC_H

#ifdef __cplusplus /* C++ hosts: the binding, and Lua's API with it, have C linkage */
extern "C" {
#endif
#include <lua.h>

#include "pygc.h"

/* The module's opener: luaL_requiref(L, "pygc", luaopen_pygc, 0). */
PYGC_API int luaopen_pygc(lua_State *L);
/* The state's heap; opens the module first if needed. */
PYGC_API pygc_heap *pygc_lua_heap(lua_State *L);
/* Push the handle of o (borrowed: the handle takes its own reference).
 * The same handle is reused while one is alive. */
PYGC_API void pygc_lua_push(lua_State *L, pygc_object *o);
/* The object of the handle at idx: check raises a Lua error for anything
 * else (or a released handle); test returns NULL instead. Borrowed. */
PYGC_API pygc_object *pygc_lua_check(lua_State *L, int idx);
PYGC_API pygc_object *pygc_lua_test(lua_State *L, int idx);
/* Convert the Lua value at idx to a value (a new reference: drop it with
 * pygc_value_decref); raises a Lua error for values pygc cannot hold. */
PYGC_API pygc_value pygc_lua_tovalue(lua_State *L, int idx);
/* Push a value (borrowed) as Lua sees it: strings as Lua strings, objects
 * as handles. */
PYGC_API void pygc_lua_pushvalue(lua_State *L, pygc_value v);
/* Pop a table from the stack: its entries become the methods and fields of
 * type t's objects in Lua (obj.name looks there). */
PYGC_API void pygc_lua_set_methods(lua_State *L, const pygc_type *t);

#ifdef __cplusplus
}
#endif
#endif
