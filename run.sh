#!/usr/bin/env bash
# Set up (first time only) and start TalkSmall Studio.
#   ./run.sh                 open the desktop app (or the headless demo where there is no display)
#   ./run.sh PROJECT_DIR     open the app on a project
#   ./run.sh --headless [--size ci|full] [--dir DIR]   run the pipeline in the terminal
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
ensure_venv ""

headless=0
if [ "${1:-}" = "--headless" ]; then
  headless=1
  shift
elif [ "$(uname)" = "Linux" ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: running the headless demo instead of the app."
  headless=1
fi
if [ "$headless" = 1 ]; then
  exec .venv/bin/talksmall demo "$@"
fi
if [ "$(uname)" = "Linux" ] && [ -n "${DISPLAY:-}" ] && command -v ldconfig >/dev/null \
   && ! ldconfig -p | grep -q libxcb-cursor.so.0; then
  # Qt 6.5+ aborts at start-up without it, with a message few people can act on.
  echo "error: the desktop app needs the system library libxcb-cursor0." >&2
  echo "Install it (Debian/Ubuntu: sudo apt-get install libxcb-cursor0) and run ./run.sh again," >&2
  echo "or use ./run.sh --headless for the terminal version." >&2
  exit 1
fi
exec .venv/bin/python -m gui.app "$@"
