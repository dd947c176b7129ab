"""Thumbs from the chat are stored once per answer and survive reopening the project."""

from __future__ import annotations

import pytest

from core.errors import ValidationError
from core.project import create_project, open_project
from core.ratings import list_ratings, rate_answer, thumbs_counts

QUESTION = [{"role": "user", "content": "Can I keep a cat in my flat?"}]


def test_a_thumb_is_stored_and_a_second_click_changes_it(tmp_path):
    project = create_project(tmp_path / "p", company_name="Kestrel")
    try:
        first = rate_answer(project, prompt=QUESTION, role="tenant", model="run-1",
                            answer="Yes, with written consent.", up=True,
                            passages=[{"chunk_id": 3, "text": "Pets need consent."}])
        again = rate_answer(project, prompt=QUESTION, role="tenant", model="run-1",
                            answer="Yes, with written consent.", up=False)
        other = rate_answer(project, prompt=QUESTION, role="tenant", model="base",
                            answer="I do not know.", up=False)
        assert first == again != other
        assert thumbs_counts(project) == {"up": 0, "down": 2}
    finally:
        project.close()
    project = open_project(tmp_path / "p")
    try:
        ratings = list_ratings(project, "thumbs")
        assert [(r.model, r.value, r.role) for r in ratings] == [
            ("run-1", -1, "tenant"), ("base", -1, "tenant")]
        assert ratings[0].prompt == QUESTION
        assert ratings[0].passages == [{"chunk_id": 3, "text": "Pets need consent."}]
    finally:
        project.close()


def test_an_answer_without_a_question_or_text_is_refused(tmp_path):
    project = create_project(tmp_path / "p", company_name="Kestrel")
    try:
        with pytest.raises(ValidationError, match="question"):
            rate_answer(project, prompt=[], role="tenant", model="m", answer="Hi", up=True)
        with pytest.raises(ValidationError, match="no answer"):
            rate_answer(project, prompt=QUESTION, role="tenant", model="m", answer=" ",
                        up=True)
        with pytest.raises(ValidationError, match="kind"):
            list_ratings(project, "stars")
        assert list_ratings(project) == []
    finally:
        project.close()
