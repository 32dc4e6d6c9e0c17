/* posixlite.c -- fork, pipe, read, write, close, wait and _exit for the
 * fork example: Debian 12's lua-posix is built for Lua 5.1-5.3 only.  The
 * functions mirror posix.unistd / posix.sys.wait's names. */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <sys/wait.h>
#include <unistd.h>

static int l_fork(lua_State *L) {
  lua_pushinteger(L, fork());
  return 1;
}
static int l_pipe(lua_State *L) {
  int fd[2];
  if (pipe(fd) != 0) return luaL_error(L, "pipe failed");
  lua_pushinteger(L, fd[0]);
  lua_pushinteger(L, fd[1]);
  return 2;
}
static int l_read(lua_State *L) {
  char buf[4096];
  lua_Integer n = luaL_checkinteger(L, 2);
  ssize_t got = read((int)luaL_checkinteger(L, 1), buf, n < (lua_Integer)sizeof buf ? (size_t)n : sizeof buf);
  lua_pushlstring(L, buf, got > 0 ? (size_t)got : 0);
  return 1;
}
static int l_write(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_pushinteger(L, write((int)luaL_checkinteger(L, 1), s, len));
  return 1;
}
static int l_close(lua_State *L) {
  lua_pushinteger(L, close((int)luaL_checkinteger(L, 1)));
  return 1;
}
static int l_wait(lua_State *L) {
  int status = 0;
  lua_pushinteger(L, waitpid((pid_t)luaL_checkinteger(L, 1), &status, 0));
  lua_pushinteger(L, status);
  return 2;
}
static int l_exit(lua_State *L) { _exit((int)luaL_optinteger(L, 1, 0)); }

__attribute__((visibility("default"))) int luaopen_posixlite(lua_State *L) {
  static const luaL_Reg f[] = {{"fork", l_fork}, {"pipe", l_pipe}, {"read", l_read}, {"write", l_write},
                               {"close", l_close}, {"wait", l_wait}, {"_exit", l_exit}, {NULL, NULL}};
  luaL_newlib(L, f);
  return 1;
}
