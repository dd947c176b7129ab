"""Thumbs from the chat are stored once per answer and survive reopening the project."""

from __future__ import annotations

import json

import pytest

from core.errors import ValidationError
from core.project import create_project, open_project
from core.ratings import (
    ab_items,
    agreement,
    cohen_kappa,
    list_ratings,
    pending_pairs,
    rate_answer,
    rater_progress,
    ratings_to_pairs,
    record_ab,
    record_scale,
    scale_items,
    thumbs_counts,
)

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


# --- the rating step ------------------------------------------------------------------------
PETS = "How many pets can I keep?"
FEE = "What is the late rent fee?"
ANSWERS = {  # (model, variant) -> {question: answer}
    ("base", "bare"): {PETS: "Pets are animals.", FEE: "Fees vary."},
    ("base", "prompted"): {PETS: "Up to 2 pets, with written consent.",
                           FEE: "It is £30 after 14 days."},
}


def answered_project(tmp_path):
    """A project with two operator questions and stored answers of base and prompted (the
    rows evaluate would store; no model is run)."""
    from core.evaluation import add_question
    from core.sample import sample_profile

    project = create_project(tmp_path / "p", company_name="Kestrel")
    project.save_profile(sample_profile())
    ids = {q: add_question(project, q, role="tenant").id for q in (PETS, FEE)}
    with project.store.transaction() as conn:
        for (model, variant), answers in ANSWERS.items():
            for question, answer in answers.items():
                conn.execute(
                    "INSERT INTO eval_answers (model, variant, question_id, settings_hash, "
                    "settings, answer, raw) VALUES (?, ?, ?, 'h', '{}', ?, ?)",
                    (model, variant, ids[question], answer, answer))
    return project, ids


def test_ab_items_are_blind_per_rater_and_rated_items_drop_out(tmp_path):
    project, _ids = answered_project(tmp_path)
    try:
        items = ab_items(project, ["base", "prompted"], "ann")
        assert [i.question for i in items] == [PETS, FEE]
        assert all({i.left_model, i.right_model} == {"base", "prompted"} for i in items)
        assert items == ab_items(project, ["prompted", "base"], "ann")  # seeded, stable
        sides = {r: tuple(i.left_model for i in ab_items(project, ["base", "prompted"], r))
                 for r in ("ann", "bob", "cy", "dee", "eve", "fay")}
        assert len(set(sides.values())) > 1  # the order differs between raters
        first = items[0]
        chosen = "a" if first.left_model == "prompted" else "b"
        rating = record_ab(project, question_id=first.question_id, model_a=first.left_model,
                           answer_a=first.left_answer, model_b=first.right_model,
                           answer_b=first.right_answer, choice=chosen, rater="ann")
        assert [i.question for i in ab_items(project, ["base", "prompted"], "ann")] == [FEE]
        assert len(ab_items(project, ["base", "prompted"], "ann", include_rated=True)) == 2
        assert len(ab_items(project, ["base", "prompted"], "bob")) == 2
        again = record_ab(project, question_id=first.question_id, model_a=first.right_model,
                          answer_a=first.right_answer, model_b=first.left_model,
                          answer_b=first.left_answer, choice="tie", rater="ann")
        assert again == rating  # a change of mind, not a second vote
        assert list_ratings(project, "ab")[0].value == 0
        assert rater_progress(project) == {"ann": {"ab": 1, "scale": 0}}
        with pytest.raises(ValidationError, match="choice"):
            record_ab(project, question_id=first.question_id, model_a="base", answer_a="x",
                      model_b="prompted", answer_b="y", choice="left", rater="ann")
        with pytest.raises(ValidationError) as error:
            record_ab(project, question_id=first.question_id, model_a="base", answer_a="x",
                      model_b="prompted", answer_b="y", choice="a", rater=" ")
        assert error.value.field == "rater"
    finally:
        project.close()


def test_scale_ratings_are_checked_and_counted(tmp_path):
    project, _ids = answered_project(tmp_path)
    try:
        items = scale_items(project, "ann")
        assert len(items) == 4 and {i.model for i in items} == {"base", "prompted"}
        item = next(i for i in items if i.model == "prompted" and i.question == PETS)
        good = {"human_likeness": 4, "consistency": 5, "relevance": 3}
        for bad, field in (({**good, "relevance": 6}, "relevance"),
                           ({**good, "consistency": 0}, "consistency"),
                           ({**good, "human_likeness": True}, "human_likeness"),
                           ({k: v for k, v in good.items() if k != "relevance"}, "relevance"),
                           ({**good, "charm": 3}, "scores")):
            with pytest.raises(ValidationError) as error:
                record_scale(project, prompt=item.prompt, role=item.role, model=item.model,
                             answer=item.answer, scores=bad, rater="ann")
            assert error.value.field == field
        with pytest.raises(ValidationError) as error:
            record_scale(project, prompt=item.prompt, role=item.role, model=item.model,
                         answer=item.answer, scores=good, flagged_sentences=["Not there."],
                         rater="ann")
        assert error.value.field == "flagged_sentences"
        record_scale(project, prompt=item.prompt, role=item.role, model=item.model,
                     answer=item.answer, scores=good, flagged_sentences=["Up to 2 pets,"],
                     rater="ann")
        assert len(scale_items(project, "ann")) == 3 and len(scale_items(project, "bob")) == 4
        stored = list_ratings(project, "scale")[0]
        assert stored.model == "prompted" and stored.rater == "ann"
        assert rater_progress(project) == {"ann": {"ab": 0, "scale": 1}}
    finally:
        project.close()


def test_cohen_kappa_matches_a_hand_computed_value():
    # 10 items: both "a" 4, both "b" 3, a/b 2, b/a 1. p_o = 0.7;
    # rater 1 says a 6/10, rater 2 says a 5/10: p_e = 0.6*0.5 + 0.4*0.5 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    labels = [("a", "a")] * 4 + [("b", "b")] * 3 + [("a", "b")] * 2 + [("b", "a")]
    assert cohen_kappa(labels) == pytest.approx(0.4)
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None  # chance agreement is certain
    assert cohen_kappa([]) is None


def test_agreement_between_raters_on_the_same_items(tmp_path):
    project, _ids = answered_project(tmp_path)
    try:
        for rater, picks in (("ann", ("prompted", "prompted")), ("bob", ("prompted", "base")),
                             ("cy", ("prompted",))):
            for item, pick in zip(ab_items(project, ["base", "prompted"], rater), picks,
                                  strict=False):
                record_ab(project, question_id=item.question_id, model_a=item.left_model,
                          answer_a=item.left_answer, model_b=item.right_model,
                          answer_b=item.right_answer, rater=rater,
                          choice="a" if item.left_model == pick else "b")
        result = agreement(project)
        assert result["raters"] == ["ann", "bob", "cy"] and result["items"] == 2
        by_pair = {tuple(p["raters"]): p for p in result["pairs"]}
        # ann/bob: agree on PETS, not on FEE -> 0.5; labels (p,p), (p,b):
        # p_e = 1.0 * 0.5 = 0.5 -> kappa 0.
        assert by_pair[("ann", "bob")]["agreement"] == 0.5
        assert by_pair[("ann", "bob")]["kappa"] == pytest.approx(0.0)
        assert by_pair[("ann", "cy")] == {"raters": ["ann", "cy"], "items": 1,
                                          "agreement": 1.0, "kappa": None}
        assert result["agreement"] == pytest.approx(3 / 4)
    finally:
        project.close()


def test_ratings_become_preference_pairs_once_and_reach_the_export(tmp_path):
    from core.conversations.datasets import export_dataset

    project, _ids = answered_project(tmp_path)
    try:
        for rater in ("ann", "bob"):
            for item in ab_items(project, ["base", "prompted"], rater):
                record_ab(project, question_id=item.question_id, model_a=item.left_model,
                          answer_a=item.left_answer, model_b=item.right_model,
                          answer_b=item.right_answer, rater=rater,
                          choice="a" if item.left_model == "prompted" else "b")
        question = [{"role": "user", "content": "Can I paint my walls?"}]
        rate_answer(project, prompt=question, role="tenant", model="run-1",
                    answer="Yes, ask us first.", up=True)
        rate_answer(project, prompt=question, role="tenant", model="base",
                    answer="Paint is a liquid.", up=False)
        rate_answer(project, prompt=FEE_ONLY_UP, role="tenant", model="base",
                    answer="Ask us.", up=True)  # no thumbs down to pair it with
        assert pending_pairs(project) == 3
        assert ratings_to_pairs(project) == 3
        assert ratings_to_pairs(project) == 0 and pending_pairs(project) == 0
        rows = project.store.query(
            "SELECT source, decided_by, status, role, prompt, chosen, rejected FROM pairs "
            "ORDER BY id")
        assert {(r[0], r[1], r[2], r[3]) for r in rows} == {
            ("rating", "rating", "accepted", "tenant")}
        assert {(json.loads(r[4])[0]["content"], r[5], r[6]) for r in rows} == {
            (PETS, ANSWERS[("base", "prompted")][PETS], ANSWERS[("base", "bare")][PETS]),
            (FEE, ANSWERS[("base", "prompted")][FEE], ANSWERS[("base", "bare")][FEE]),
            ("Can I paint my walls?", "Yes, ask us first.", "Paint is a liquid.")}
        assert all(r[0] for r in project.store.query(
            "SELECT used_at FROM ratings WHERE kind = 'ab' OR model = 'run-1'"))
        path = tmp_path / "preference.jsonl"
        assert export_dataset(project, path, "preference") == 3
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        paint = next(x for x in lines if x["prompt"][-1]["content"] == "Can I paint my walls?")
        assert paint["prompt"][0]["role"] == "system"
        assert paint["chosen"] == [{"role": "assistant", "content": "Yes, ask us first."}]
        assert paint["rejected"] == [{"role": "assistant", "content": "Paint is a liquid."}]
    finally:
        project.close()


def test_a_tie_in_votes_waits_and_held_out_questions_stay_out_of_the_export(tmp_path):
    from core.conversations.datasets import export_dataset

    project, _ids = answered_project(tmp_path)
    try:
        item = ab_items(project, ["base", "prompted"], "ann")[0]
        for rater, pick in (("ann", "prompted"), ("bob", "base")):
            record_ab(project, question_id=item.question_id, model_a=item.left_model,
                      answer_a=item.left_answer, model_b=item.right_model,
                      answer_b=item.right_answer, rater=rater,
                      choice="a" if item.left_model == pick else "b")
        assert ratings_to_pairs(project) == 0  # one vote each: no winner yet
        record_ab(project, question_id=item.question_id, model_a=item.left_model,
                  answer_a=item.left_answer, model_b=item.right_model,
                  answer_b=item.right_answer, rater="cy",
                  choice="a" if item.left_model == "prompted" else "b")
        # Pretend the question is held out: link it to a conversation kept out of training.
        with project.store.transaction() as conn:
            conn.execute("INSERT INTO examples (id, source, role, messages, status) "
                         "VALUES (7, 'faq', 'tenant', '[]', 'kept')")
            conn.execute("UPDATE eval_questions SET example_id = 7 WHERE id = ?",
                         (item.question_id,))
        assert ratings_to_pairs(project) == 1
        assert export_dataset(project, tmp_path / "pref.jsonl", "preference") == 0
    finally:
        project.close()


FEE_ONLY_UP = [{"role": "user", "content": "Who fixes the boiler?"}]

