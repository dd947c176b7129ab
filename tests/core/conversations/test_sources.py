"""Structure first: FAQ entries, headings and tickets of the real sample company."""

from __future__ import annotations

from core.conversations.sources import (
    Chunk,
    answer_sentences,
    customer_words,
    faq_pair,
    load_chunks,
    outline,
    section_role,
    thread_parent,
    ticket_pair,
    topic_question,
    unwrap,
)

ROLES = ["tenant", "owner", "prospect"]


def test_every_faq_entry_is_a_question_answer_pair(sample_project) -> None:
    chunks = load_chunks(sample_project)
    pairs = [faq_pair(c) for c in chunks if c.document == "faq.docx"]
    found = [p for p in pairs if p]
    assert len(found) == 37  # faq.docx holds 37 entries
    question, answer = found[1]
    assert question == "What happens if my rent is late?"
    assert "late rent fee of £30" in answer


def test_headings_inside_pdf_chunks_become_topics(sample_project) -> None:
    chunks = [c for c in load_chunks(sample_project) if c.document == "handbook.pdf"]
    titles = {t.title for c in chunks for t in outline(c, skip=("Kestrel Quay Lettings",))}
    assert {"Rent reviews", "If your rent is late", "Lost keys", "Referencing"} <= titles
    # table header rows and the contents page are not topics
    assert not any(t.startswith(("Channel", "Item")) or t == "Contents" for t in titles)
    assert not any("Kestrel Quay" in t for t in titles)


def test_topic_bodies_are_whole_sentences(sample_project) -> None:
    chunk = next(c for c in load_chunks(sample_project) if c.section.endswith("Rent and payments")
                 and not c.first_of_section)
    topics = {t.title: t.body for t in outline(chunk)}
    body = answer_sentences(topics["Rent reviews"])
    assert body[0].startswith("Rent is not reviewed during a fixed term")
    assert all(s.endswith((".", "!", "?")) for s in body)


def test_roles_come_from_the_section_path() -> None:
    assert section_role("Part A: For tenants > Rent", ROLES) == "tenant"
    assert section_role("Part B: For owners > Fees", ROLES) == "owner"
    assert section_role("For prospects > Viewing", ROLES) == "prospect"
    assert section_role("Landlord obligations", ROLES) == "owner"  # alias
    assert section_role("Complaints and feedback", ROLES) is None


def test_headings_become_customer_questions() -> None:
    assert customer_words("Your deposit and our fees") == "my deposit and your fees"
    assert topic_question("If your rent is late", "tenant", 0)[0] == "What happens if my rent " \
                                                                     "is late?"
    assert topic_question("How to report a repair", "tenant", 0)[0] == "How do I report a " \
                                                                       "repair?"
    question, template = topic_question("Rent reviews", "owner", 3)
    assert "rent reviews" in question and question.endswith("?")
    assert template.startswith("heading_questions.owner")


def test_unwrap_joins_pdf_line_breaks_only_mid_sentence() -> None:
    text = "We inspect the home and\nwrite a report.\nRent reviews\nRent is not reviewed."
    assert unwrap(text) == ("We inspect the home and write a report.\nRent reviews\n"
                            "Rent is not reviewed.")


def test_tickets_are_cleaned_of_personal_data(sample_project) -> None:
    tickets = [c for c in load_chunks(sample_project) if c.kind == "ticket"]
    assert len(tickets) == 60
    for chunk in tickets:
        pair = ticket_pair(chunk)
        assert pair is not None
        for text in pair:
            assert "[" not in text or "[NAME]" not in text
            assert "[PHONE]" not in text and "[EMAIL]" not in text
    message, reply = ticket_pair(tickets[0])
    assert message.startswith("We have had no hot water")
    assert not reply.startswith("Hi") and "Kind regards" not in reply


def test_thread_replies_are_found() -> None:
    assert thread_parent("Re: Viewing for 2-bed on Anchor Street") == "Viewing for 2-bed on " \
                                                                      "Anchor Street"
    assert thread_parent("Rent not received for December") is None


def test_chunk_section_path() -> None:
    chunk = Chunk(1, 1, "doc", "text", "A > B >  C", 0, "text")
    assert chunk.section_path == ["A", "B", "C"]
