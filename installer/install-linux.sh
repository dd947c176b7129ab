#!/usr/bin/env bash
# Install the bundle for the current user: install-linux.sh talksmall-linux-x86_64.tar.gz
# Unpacks into ~/.local/opt/talksmall and adds TalkSmall Studio to the desktop menu.
set -euo pipefail
ARCHIVE="${1:?usage: install-linux.sh talksmall-linux-x86_64.tar.gz}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="$HOME/.local/opt/talksmall"
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
rm -rf "$PREFIX"
mkdir -p "$HOME/.local/opt" "$APPS"
tar -C "$HOME/.local/opt" -xzf "$ARCHIVE"
cp "$HERE/icon.svg" "$PREFIX/talksmall-studio.svg"
sed "s#@PREFIX@#$PREFIX#g" "$HERE/talksmall-studio.desktop" > "$APPS/talksmall-studio.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$APPS" || true
echo "installed in $PREFIX; start TalkSmall Studio from the desktop menu"
