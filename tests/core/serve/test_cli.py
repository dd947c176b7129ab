"""``talksmall serve`` as the operator runs it: URL, key once, curl example, Ctrl+C stops it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from core.models.embedded import embedded_gguf_path

pytestmark = pytest.mark.slow


def test_serve_prints_url_key_and_curl_then_stops_on_ctrl_c():
    child = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", str(embedded_gguf_path()), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        out = "".join(lines)
        url = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", out).group(1)
        key = re.search(r"API key \(shown once, not stored\): (\S+)", out).group(1)
        assert f"curl {url}/chat/completions" in out and f"Bearer {key}" in out
        assert "retrieval off" in out
        request = urllib.request.Request(f"{url}/models",
                                         headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            models = json.loads(response.read())
        assert models["data"][0]["id"] == embedded_gguf_path().stem
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
        assert "stopped" in rest and "Traceback" not in err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
