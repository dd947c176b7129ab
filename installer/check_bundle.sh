#!/usr/bin/env bash
# Build the Linux bundle, then check it as an operator would run it (issue #10):
#   installer/check_bundle.sh [OUT_DIR] [--reuse]
# OUT_DIR defaults to /tmp/talksmall-bundle; --reuse checks an existing OUT_DIR/talksmall
# instead of building. The check is tests/installer/test_bundle.py: a copy of the bundle in a
# temp folder, no venv or Python on PATH; the bundle's `talksmall` creates a project and
# imports chats, `talksmall-studio` starts under Xvfb and shows it, `talksmall train` trains
# two steps on the embedded model through `talksmall-worker`. Prints build time, sizes and
# start times. `.ci/run` calls this after the test suite (the build alone takes ~12 minutes
# on 2 cores, too slow to repeat inside pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="/tmp/talksmall-bundle"
REUSE=0
for arg in "$@"; do
  case "$arg" in
    --reuse) REUSE=1 ;;
    *) OUT="$arg" ;;
  esac
done
for tool in xvfb-run xwininfo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is missing; install it (Debian/Ubuntu: apt install xvfb x11-utils)." >&2
    exit 1
  fi
done
. scripts/setup.sh
ensure_venv "test,installer"
if [ "$REUSE" = 1 ] && [ -x "$OUT/talksmall/talksmall-worker" ]; then
  echo "== reusing the bundle in $OUT/talksmall"
else
  rm -rf "$OUT/talksmall" "$OUT/build"
  echo "== building the bundle into $OUT (many minutes)"
  nice -n 10 installer/build.sh "$OUT"
fi
echo "== checking the bundle outside the source tree"
TALKSMALL_BUNDLE="$OUT/talksmall" run_pytest -m installer tests/installer -s -p no:cacheprovider -rA
