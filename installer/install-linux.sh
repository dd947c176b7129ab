#!/usr/bin/env bash
# Install TalkSmall Studio for the current user (no root, no Python):
#   talksmall/install.sh                     from the unpacked archive (build.sh puts it there)
#   installer/install-linux.sh ARCHIVE       from the source tree, with a built .tar.gz
# Copies the bundle to ~/.local/opt/talksmall, adds "TalkSmall Studio" to the desktop menu
# and a `talksmall` command to ~/.local/bin. Running it again replaces the installed copy
# (projects live in their own folders and are not touched).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="$HOME/.local/opt/talksmall"
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
BIN="$HOME/.local/bin"
if [ $# -ge 1 ]; then
  unpacked="$(mktemp -d)"
  trap 'rm -rf "$unpacked"' EXIT
  tar -C "$unpacked" -xzf "$1"
  SRC="$unpacked/talksmall"
else
  SRC="$HERE"
fi
if [ ! -x "$SRC/talksmall-studio" ] || [ ! -f "$SRC/talksmall-studio.desktop" ]; then
  echo "error: $SRC is not an unpacked TalkSmall Studio bundle (talksmall-studio missing)." >&2
  exit 1
fi
if [ "$(realpath "$SRC")" != "$(realpath -m "$PREFIX")" ]; then
  rm -rf "$PREFIX"
  mkdir -p "$(dirname "$PREFIX")"
  cp -a "$SRC" "$PREFIX"
fi
mkdir -p "$APPS" "$BIN"
sed "s#@PREFIX@#$PREFIX#g" "$PREFIX/talksmall-studio.desktop" > "$APPS/talksmall-studio.desktop"
# A wrapper, not a symlink: the bundle finds its libraries and its worker next to itself.
printf '#!/bin/sh\nexec "%s/talksmall" "$@"\n' "$PREFIX" > "$BIN/talksmall"
chmod +x "$BIN/talksmall"
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database "$APPS" || true
fi
echo "Installed in $PREFIX."
echo "Start TalkSmall Studio from the desktop menu; the command line is $BIN/talksmall."
