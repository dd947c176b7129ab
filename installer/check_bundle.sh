#!/usr/bin/env bash
# Check the Linux bundle as an operator would run it: outside the source tree, no venv.
#   installer/check_bundle.sh [BUNDLE_DIR]   (BUNDLE_DIR holds talksmall/; default /tmp/bundle;
#   built with installer/build.sh when missing). Too slow for every CI run (the build takes
#   many minutes): CI calls this script on its own. Exit 0 only when every step passed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/bundle}"
[ -x "$OUT/talksmall/talksmall-worker" ] || "$ROOT/installer/build.sh" "$OUT" || exit 1
TMP="$(mktemp -d /tmp/talksmall-check.XXXXXX)"
cp -a "$OUT/talksmall" "$TMP/app"
"$ROOT/.venv/bin/python" "$ROOT/installer/make_specs.py" "$TMP/work" || exit 1
RUN=(env -i PATH=/usr/bin:/bin HOME="$TMP/home" LANG=C.UTF-8)
mkdir -p "$TMP/home"; cd "$TMP"
fail=0
step() { echo "== $1: $2"; [ "$2" = ok ] || fail=1; }

s=$(date +%s.%N)
"${RUN[@]}" "$TMP/app/talksmall-worker" selfcheck --spec "$TMP/work/selfcheck/spec.json" \
    > "$TMP/selfcheck.out" && r=ok || r="FAILED (see $TMP/work/selfcheck/stderr.log)"
step "worker selfcheck ($(echo "$(date +%s.%N) - $s" | bc) s)" "$r"

# The GUI has no --smoke flag: start it on the project under Xvfb, time until its window
# is mapped (xwininfo), and require it still running after 5 s.
"${RUN[@]}" QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  s=$(date +%s.%N); "$0" "$1" > "$2/gui.log" 2>&1 & pid=$!
  for i in $(seq 1 600); do
    xwininfo -root -tree 2>/dev/null | grep -q "TalkSmall" && break; sleep 0.1; done
  echo "window after $(echo "$(date +%s.%N) - $s" | bc) s"
  sleep 5; kill -0 $pid && { kill $pid; wait $pid; exit 0; }; exit 1
' "$TMP/app/talksmall-studio" "$TMP/work/project" "$TMP" && r=ok || r="FAILED (see $TMP/gui.log)"
step "studio starts under Xvfb and opens the project" "$r"

s=$(date +%s.%N)
"${RUN[@]}" "$TMP/app/talksmall-worker" train --spec "$TMP/work/train/spec.json" \
    > "$TMP/train.out" && r=ok || r="FAILED (see $TMP/work/train/stderr.log)"
step "worker trains 2 steps on the embedded model ($(echo "$(date +%s.%N) - $s" | bc) s)" "$r"
echo "logs in $TMP"
exit $fail
