"""Escalation: what the assistant must hand to a person, and ticket replies made safe to learn.

A support agent can refund, waive and change records; the assistant cannot. Ticket replies
that claim such actions ("I have refunded the £10") teach a model to claim them too, so each
claim is rewritten as "a team member will refund the £10", with result clauses ("so your
balance is now clear") cut, and a claim that cannot be rewritten cleanly is dropped. Replies
also lose their greeting, sign-off and any sentence that still holds redacted personal data.
Escalation answers for off-topic questions and account requests come from
resources/prompts/conversations/conversation_templates.yaml.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from core.conversations import prompts
from core.conversations.text import PLACEHOLDER_RE, first_upper, normalise_space, split_sentences

_GREETING_RE = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^.!?\n]{0,40}"
                          r"[,!]?\s*$", re.IGNORECASE)
_SIGNOFF_RE = re.compile(r"^(kind regards|best regards|warm regards|regards|many thanks|thanks|"
                         r"thank you|best wishes|best|cheers|all the best|yours\b|sincerely)",
                         re.IGNORECASE)
_VISIBILITY_RE = re.compile(r"\bI can (see|confirm|check)\b", re.IGNORECASE)
_RESULT_RE = re.compile(r"\b(now shows|is now (clear|in|on|showing|zero)|has now been|"
                        r"should (appear|arrive|reach)|will (appear|arrive|reach) (in|on) your)",
                        re.IGNORECASE)
_CUT_RE = re.compile(r"(,? so (that )?(it|your|you|the)\b.*$|,? which should\b.*$|"
                     r",? and your (account|balance|statement)\b.*$|"
                     r",? and (it|this|that) should\b.*$|\s+(today|this (morning|afternoon|"
                     r"evening))\b|\s+as a one-off\b)", re.IGNORECASE)
_CLAUSE_OPENERS = (",", ";", ":", " and", " so", " but", " then", " also", "and", "so")
_NAME_VOCATIVE_RE = re.compile(r"(?<=\w)\s*,?\s*\[NAME\](?=\s*[,.!?])")
_PLACEHOLDER_RUN_RE = re.compile(r"(^|(?<=[.!?])\s+)(?:\[[A-Z_]+\][,;:]?\s*)+[.!?](?=\s|$)")


@lru_cache(maxsize=1)
def _verbs() -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in
            prompts.data("conversation_templates", "account_actions").items()}


@lru_cache(maxsize=1)
def _claim_re() -> re.Pattern[str]:
    verbs = "|".join(sorted(map(re.escape, _verbs()), key=len, reverse=True))
    return re.compile(
        rf"\b(?P<subject>I|we)\b(?P<aux>\s*(?:'ve|’ve|\s+have|\s+has))?"
        rf"(?P<adv>(?:\s+(?:now|just|also|already|gone ahead and|today))*)\s+"
        rf"(?P<verb>{verbs})\b"
        rf"|\b(?:has|have) been (?P<passive>{verbs})\b",
        re.IGNORECASE,
    )


def _claim(sentence: str) -> re.Match[str] | None:
    """The first claim that opens a clause ("I have refunded", ", and we've sent")."""
    for match in _claim_re().finditer(sentence):
        before = sentence[: match.start()].rstrip().lower()
        if match.group("passive") or not before or before.endswith(_CLAUSE_OPENERS):
            return match
    return None


def _is_claim(sentence: str) -> bool:
    return bool(_claim(sentence) or _VISIBILITY_RE.search(sentence)
                or _RESULT_RE.search(sentence))


def action_claims(text: str) -> list[str]:
    """Sentences in which the writer claims to have done something to an account."""
    return [s for s in split_sentences(text) if _is_claim(s)]


def rewrite_action_claims(text: str) -> tuple[str, int]:
    """``text`` with every account-action claim handed to a team member; (text, changes)."""
    out: list[str] = []
    changes = 0
    for sentence in split_sentences(text):
        if not _is_claim(sentence):
            out.append(sentence)
            continue
        changes += 1
        rewritten = _rewrite_sentence(sentence)
        if rewritten and not action_claims(rewritten):
            out.append(rewritten)
    if changes and not any("team member" in s.lower() for s in out):
        out.append(str(prompts.data("conversation_templates", "account_handover")))
    return " ".join(out), changes


def _rewrite_sentence(sentence: str) -> str | None:
    if _VISIBILITY_RE.search(sentence):
        return None
    match = _claim(sentence)
    if match is None or match.group("passive"):
        return None
    base = _verbs()[match.group("verb").lower()]
    head = sentence[: match.start()].rstrip()
    tail = _CUT_RE.sub("", sentence[match.end():].rstrip(".!")).rstrip(" ,")
    verbs = "|".join(map(re.escape, _verbs()))
    tail = re.sub(rf"\band (?:have |also )?({verbs})\b",
                  lambda m: "and " + _verbs()[m.group(1).lower()], tail, flags=re.IGNORECASE)
    if re.search(r"\b(have|has) not\b|\band have\b", tail) or _RESULT_RE.search(tail):
        return None
    clause = f"a team member will {base}{tail}."
    head = re.sub(r",?\s*\b(and|so|but|then|also)$", "", head).rstrip(",; ")
    return f"{head}. {first_upper(clause)}" if head else first_upper(clause)


def clean_reply(text: str) -> str:
    """A ticket reply without greeting, sign-off or sentences holding personal data."""
    return _clean(text)


def clean_message(text: str) -> str:
    """A customer's message without greeting, sign-off or sentences holding personal data."""
    return _clean(text)


def _clean(text: str) -> str:
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and (not lines[0] or _GREETING_RE.match(lines[0])):
        lines.pop(0)
    for index, line in enumerate(lines):
        if index > 0 and _SIGNOFF_RE.match(line) and len(line.split()) <= 6:
            lines = lines[:index]
            break
    body = "\n".join(lines)
    body = _NAME_VOCATIVE_RE.sub("", body)
    body = _PLACEHOLDER_RUN_RE.sub(r"\1", body)
    kept = [s for s in split_sentences(body) if not PLACEHOLDER_RE.search(s)]
    return normalise_space(" ".join(kept))


def escalation_answer(kind: str, company: str, seed: int) -> tuple[str, str]:
    """(answer, template id) for an off-topic question or an account request."""
    key = "off_topic_answers" if kind == "off_topic" else "account_answers"
    choices = prompts.data("conversation_templates", key)
    index = random.Random(seed).randrange(len(choices))
    return str(choices[index]).format(company=company), f"{key}[{index}]"
