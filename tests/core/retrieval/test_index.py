"""The parts of the index that need no embedding model: the FTS5 table kept in step by
triggers, FTS query quoting, an empty index, the passage block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.project import Project, create_project
from core.retrieval import Hit, format_passages, passage_ids, search, update_index
from core.retrieval.hybrid import bm25_ranking, clean_query, fts_query


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    proj = create_project(tmp_path / "p", company_name="Test Lets")
    yield proj
    proj.close()


def _add(project: Project, name: str, texts: list[tuple[str, str]]) -> int:
    with project.store.transaction() as conn:
        doc = conn.execute("INSERT INTO documents (name, source_path, format, status) "
                           "VALUES (?, ?, 'md', 'imported')", (name, name)).lastrowid
        for seq, (section, text) in enumerate(texts):
            conn.execute("INSERT INTO chunks (document_id, seq, section, original_text, text, "
                         "token_count) VALUES (?, ?, ?, ?, ?, 1)",
                         (doc, seq, section, text, text))
    return doc


def test_empty_index_returns_nothing_without_loading_a_model(project: Project) -> None:
    assert search(project, "When is my rent due?") == []
    assert update_index(project)["chunks"] == 0


def test_full_text_index_follows_inserts_edits_and_forgets(project: Project) -> None:
    doc = _add(project, "a.md", [("Pets", "Cats are welcome with consent."),
                                 ("Rent", "Rent is due on the first day.")])
    other = _add(project, "b.md", [("Keys", "A replacement key costs 45 pounds.")])
    cat = bm25_ranking(project, "Can I keep cats?")
    assert len(cat) == 1
    with project.store.transaction() as conn:
        conn.execute("UPDATE chunks SET text = 'Dogs only, sorry.' WHERE id = ?", (cat[0],))
    assert bm25_ranking(project, "cats") == []
    assert bm25_ranking(project, "dogs") == cat
    assert bm25_ranking(project, "pets") == cat  # the section is indexed too
    generation = project.store.query("SELECT generation FROM retrieval_state")[0][0]
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM documents WHERE id = ?", (doc,))  # cascades to chunks
    assert bm25_ranking(project, "dogs rent") == []
    assert len(bm25_ranking(project, "replacement key")) == 1
    assert project.store.query("SELECT generation FROM retrieval_state")[0][0] == generation + 2
    project.store.query("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')")
    assert other


@pytest.mark.parametrize("query", ['"', 'a "b', "AND", "OR NOT", "NEAR(a b)", "x*", "^y",
                                   "col:val", "(", ")", "{a b}", "+-", "'", "..."])
def test_fts_syntax_in_a_question_is_plain_text(project: Project, query: str) -> None:
    _add(project, "a.md", [("", "Near the harbour, and or not, the rent is due.")])
    bm25_ranking(project, query)  # must not raise
    assert all(term.startswith('"') and term.endswith('"')
               for term in fts_query(query).split(" OR ") if term)


def test_stopwords_are_dropped_but_a_question_of_only_stopwords_still_searches() -> None:
    assert fts_query("What is the rent?") == '"rent"'
    assert fts_query("what is it") == '"what" OR "is" OR "it"'
    assert fts_query("!!! ???") == ""
    assert fts_query(" ".join(f"w{i}" for i in range(100))).count(" OR ") == 31


def test_clean_query_refuses_empty_and_cuts_long() -> None:
    with pytest.raises(ValidationError) as info:
        clean_query(" \n ")
    assert info.value.field == "query"
    assert len(clean_query("x" * 10_000)) == 2000


def _hit(n: int, text: str, section: str = "Rent") -> Hit:
    return Hit(chunk_id=n, document_id=1, document="policies.md", section=section, text=text,
               score=0.03, similarity=0.6, bm25_rank=1, vector_rank=2, relevant=True)


def test_passage_block_is_numbered_attributed_and_short() -> None:
    block = format_passages([_hit(7, "Rent is due on the 1st."), _hit(9, "word " * 1000, "")],
                            max_chars=100)
    first, second = block.split("\n\n")
    assert first == "[1] policies.md - Rent\nRent is due on the 1st."
    assert second.startswith("[2] policies.md\nword word")
    assert second.endswith(" ...") and len(second.splitlines()[1]) <= 104
    assert format_passages([]) == ""
    assert passage_ids([_hit(7, "a"), _hit(9, "b")]) == [7, 9]


def test_a_ticket_passage_shows_the_agents_reply_only() -> None:
    from core.documents.tickets import Ticket, ticket_text

    replied, _ = ticket_text(Ticket(row=2, customer_message="Can I view on Saturday? [NAME]",
                                    agent_reply="On Saturday we view from 10:00 to 16:00."))
    unanswered, _ = ticket_text(Ticket(row=3, customer_message="Is the flat still free?",
                                       agent_reply=""))
    block = format_passages([_hit(3, replied, "Viewings"), _hit(4, unanswered, "Flat")])
    first, second = block.split("\n\n")
    assert first == "[1] policies.md - Viewings\nOn Saturday we view from 10:00 to 16:00."
    assert "Can I view" not in block and "[NAME]" not in block
    assert second == "[2] policies.md - Flat\nCustomer: Is the flat still free?"
