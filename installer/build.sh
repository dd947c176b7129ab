#!/usr/bin/env bash
# Build the one-folder bundle: installer/build.sh [OUT_DIR]  (default: dist/)
# Prints build time and bundle size, and writes OUT_DIR/talksmall-linux-x86_64.tar.gz.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --distpath "$OUT" --workpath "$OUT/build" \
    "$ROOT/installer/talksmall.spec"
end=$(date +%s)
rm -rf "$OUT/build"  # PyInstaller's work folder: ~1 GB, not needed once the bundle exists
# `talksmall` and `talksmall-worker` are the same file (one analysis, one script that reads
# its own name): keep one copy as a hard link, ~100 MB less in the folder and the archive.
if cmp -s "$OUT/talksmall/talksmall" "$OUT/talksmall/talksmall-worker"; then
  ln -f "$OUT/talksmall/talksmall-worker" "$OUT/talksmall/talksmall"
fi
# What the operator needs to install from the unpacked archive alone.
cp "$ROOT/installer/install-linux.sh" "$OUT/talksmall/install.sh"
cp "$ROOT/installer/talksmall-studio.desktop" "$ROOT/installer/icon.svg" "$OUT/talksmall/"
echo "build time: $((end - start)) s"
echo "bundle size (unpacked): $(du -sh "$OUT/talksmall" | cut -f1)"
tar -C "$OUT" -czf "$OUT/talksmall-linux-x86_64.tar.gz" talksmall
echo "archive: $OUT/talksmall-linux-x86_64.tar.gz $(du -sh "$OUT/talksmall-linux-x86_64.tar.gz" | cut -f1)"
