#!/usr/bin/env bash
# Install what pygc needs on a fresh Debian 12 machine (run as root or with sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  ca-certificates gcc make pkg-config git \
  lua5.4 liblua5.4-dev lua-busted luarocks valgrind \
  python3 lua-posix graphviz clang libclang-rt-14-dev time \
  chromium \
  lua-check lua-ldoc lua-markdown zip
