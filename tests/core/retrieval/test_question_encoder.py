"""The ONNX question encoder (core.question_encoder): the same vectors as PyTorch's MiniLM,
used by search once prepared, and a clean fall-back to PyTorch when it cannot be used.
Real export, real ONNX Runtime, the sample company's index."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from core import embeddings, question_encoder
from core.retrieval import hybrid, search
from tests.core.retrieval.conftest import held_out_questions

pytestmark = pytest.mark.slow  # exports MiniLM once per test session (~10-20 s)

ODD_QUESTIONS = ["  How much   is the late fee?  ", "x", "家賃はいつ払いますか？",
                 "Wie hoch ist die Kaution?", "deposit " * 600, "£30!!! (((", "\tpets\n"]


@pytest.fixture
def prepared(sample) -> None:  # the sample's update_index prepared it
    question_encoder.forget()
    assert question_encoder.prepare() == "onnx", question_encoder.status()
    yield
    question_encoder.forget()


def test_vectors_equal_pytorch_for_held_out_and_odd_questions(prepared) -> None:
    questions = [q["question"] for q in held_out_questions()] + ODD_QUESTIONS
    ours = np.stack([question_encoder.embed_question(q) for q in questions])
    theirs = embeddings.embed(questions, threads=1)
    cosines = np.sum(ours * theirs, axis=1)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines.min() >= question_encoder.MIN_COSINE, questions[int(cosines.argmin())]


def test_search_embeds_new_questions_through_onnx(prepared) -> None:
    question = "Can I keep a rabbit in the garden of a flat I rent?"
    assert np.array_equal(hybrid._embed_single(question),
                          question_encoder.embed_question(question))


def test_onnx_and_pytorch_searches_retrieve_the_same_passages(prepared, sample,
                                                              monkeypatch) -> None:
    questions = [q["question"] for q in held_out_questions()]
    hybrid._query_cache.clear()  # every question embedded anew, on each path
    with_onnx = [[h.chunk_id for h in search(sample, q, k=2)] for q in questions]
    hybrid._query_cache.clear()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    question_encoder.forget()
    assert question_encoder.prepare() == "onnxruntime is not installed"
    assert question_encoder.embed_question("anything") is None
    with_torch = [[h.chunk_id for h in search(sample, q, k=2)] for q in questions]
    assert with_onnx == with_torch


def test_a_corrupt_graph_falls_back_to_pytorch_then_is_made_again(
        sample, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TALKSMALL_CACHE_DIR", str(tmp_path))
    question_encoder.forget()
    path = question_encoder.encoder_path()
    assert path.is_relative_to(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx graph")
    try:
        assert question_encoder.embed_question("How much is the deposit?") is None
        assert "off" in question_encoder.status()
        hybrid._query_cache.clear()
        hits = search(sample, "How much is the deposit for a flat, roughly?", k=2)
        assert hits and any("deposit" in h.text.casefold() for h in hits)
        question_encoder.forget()
        assert question_encoder.prepare() == "onnx"
        assert path.read_bytes()[:4] != b"not "
        assert not list(path.parent.glob(".*.tmp"))
        hybrid._query_cache.clear()
        hits_again = search(sample, "How much is the deposit for a flat, roughly?", k=2)
        assert [h.chunk_id for h in hits_again] == [h.chunk_id for h in hits]
    finally:
        question_encoder.forget()
