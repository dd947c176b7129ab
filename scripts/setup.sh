# Shared set-up for run.sh and test.sh (sourced, not run): make .venv and install into it.
# Re-installs only when pyproject.toml changed since the last successful install.

ensure_venv() {
  local extras="$1"
  local py="${PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "error: $py not found. Install Python 3.11 or newer, then run this again." >&2
    exit 1
  fi
  if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "error: TalkSmall Studio needs Python 3.11 or newer ($py is $("$py" --version 2>&1))." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..."
    "$py" -m venv .venv
  fi
  local stamp=".venv/.talksmall-installed${extras:+-$extras}"
  local want
  want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "Installing TalkSmall Studio and its libraries into .venv"
  echo "(the first time takes ~15 minutes: llama-cpp-python compiles from source) ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  # Portable llama.cpp build: no -march=native, so the same build runs on AVX2-only and
  # AVX-512 machines. A GPU machine can set CMAKE_ARGS itself (see README).
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
  local target="."
  [ -n "$extras" ] && target=".[$extras]"
  .venv/bin/python -m pip install --quiet --progress-bar off -e "$target"
  echo "$want" > "$stamp"
}

# pytest with the given arguments; its exit 5 (nothing collected) is a failure, not a pass.
run_pytest() {
  local status=0
  .venv/bin/python -m pytest "$@" || status=$?
  if [ "$status" = 5 ]; then
    echo "error: pytest collected no tests; that is a failure, not a pass." >&2
    return 1
  fi
  return "$status"
}
