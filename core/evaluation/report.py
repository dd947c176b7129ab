"""The evaluation report: one self-contained HTML file (no scripts, no downloads), printable.

It holds the comparison table, a bar chart per headline metric (inline SVG), what people
said in ratings (core.ratings) and example answers side by side. It is saved in the
project's ``reports/`` folder as ``evaluation-<UTC time>.html``, so the operator can open it
in a browser, print it or send it on; every value is escaped, so an answer cannot inject
markup.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_text
from core.evaluation.metrics import METRICS, format_metric
from core.evaluation.table import EvalTable, answers_for

REPORTS_FOLDER = "reports"
CHART_METRICS = ("readable_share", "similarity", "policy_adherence", "escalation_rate",
                 "wrong_escalation_rate")
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f2f2f2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666}.chart{display:inline-block;margin:0 1.5em 1em 0;vertical-align:top}
.answer{white-space:pre-wrap}
@media print{body{margin:0;max-width:none}h2{break-before:auto}.q{break-inside:avoid}}
"""


def reports_dir(project: Any) -> Path:
    return Path(project.root) / REPORTS_FOLDER


def write_report(project: Any, table: EvalTable, *, path: str | Path | None = None,
                 examples: int = 5) -> Path:
    """Write the report of ``table`` (and ``examples`` questions' answers); return its path."""
    now = datetime.now(UTC)
    target = Path(path) if path is not None else \
        reports_dir(project) / f"evaluation-{now.strftime('%Y%m%d-%H%M%S')}.html"
    atomic_write_text(target, render_report(project, table, examples=examples, now=now))
    return target


def render_report(project: Any, table: EvalTable, *, examples: int = 5,
                  now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    esc = html.escape
    settings = table.settings
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Evaluation - {esc(project.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation of the assistant: {esc(project.name)}</h1>",
        f"<p class='muted'>{now.strftime('%Y-%m-%d %H:%M UTC')} - {len(table.question_ids)} "
        f"questions - decoding: temperature {settings['temperature']}, at most "
        f"{settings['max_tokens']} tokens, seed {settings['seed']}"
        f"{'' if table.complete else ' - some answers are still missing'}</p>",
        "<h2>Comparison</h2>", _comparison(table), _legend(),
        "<h2>Charts</h2>", *[_chart(table, key) for key in CHART_METRICS],
        "<h2>Ratings by people</h2>", _ratings(project),
        "<h2>Example answers</h2>", _examples(project, table, examples),
        "</body></html>",
    ]
    return "\n".join(parts)


def _comparison(table: EvalTable) -> str:
    esc = html.escape
    head = "".join(f"<th title='{esc(m.description)}'>{esc(m.label)}</th>" for m in METRICS)
    rows = []
    for row in table.rows:
        cells = "".join(f"<td class='n'>{format_metric(m.key, row.metrics.get(m.key))}</td>"
                        for m in METRICS)
        rows.append(f"<tr><th>{esc(row.label)}</th><td class='n'>{row.answered}/"
                    f"{row.questions}</td>{cells}</tr>")
    return f"<table><tr><th>Model</th><th>Answers</th>{head}</tr>{''.join(rows)}</table>"


def _legend() -> str:
    items = "".join(f"<li><b>{html.escape(m.label)}</b>: {html.escape(m.description)}</li>"
                    for m in METRICS)
    return f"<ul class='muted'>{items}</ul>"


def _chart(table: EvalTable, key: str) -> str:
    """Horizontal bars, one per model, scaled to the metric's range (0-1 for these)."""
    info = next(m for m in METRICS if m.key == key)
    width, bar, label_w = 360, 18, 150
    height = bar * len(table.rows) + 30
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width + label_w + 50}' "
           f"height='{height}' role='img' aria-label='{html.escape(info.label)}'>"]
    for index, row in enumerate(table.rows):
        value = row.metrics.get(key)
        y = 22 + index * bar
        length = 0 if value is None else max(0.0, min(1.0, float(value))) * width
        svg.append(f"<text x='0' y='{y + 12}' font-size='12'>{html.escape(row.label[:24])}"
                   f"</text><rect x='{label_w}' y='{y}' width='{length:.1f}' height='{bar - 4}'"
                   f" fill='#4a78b0'/><text x='{label_w + length + 4:.1f}' y='{y + 12}' "
                   f"font-size='12'>{format_metric(key, value)}</text>")
    svg.append("</svg>")
    return (f"<div class='chart'><b>{html.escape(info.label)}</b>"
            f"{' (lower is better)' if info.higher_is_better is False else ''}<br>"
            f"{''.join(svg)}</div>")


def _ratings(project: Any) -> str:
    from core.ratings import list_ratings, thumbs_counts

    thumbs = thumbs_counts(project)
    ratings = list_ratings(project)
    ab: dict[str, list[int]] = {}  # model -> [won, tie, lost]
    for model, other, value in project.store.query(
            "SELECT model, other_model, value FROM ratings WHERE kind = 'ab' AND value IS NOT "
            "NULL"):
        ab.setdefault(model, [0, 0, 0])[1 - int(value)] += 1
        if other:
            ab.setdefault(other, [0, 0, 0])[1 + int(value)] += 1
    scales: dict[str, dict[str, list[float]]] = {}
    for rating in ratings:
        if rating.kind == "scale":
            scores = _scale_scores(project, rating.id)
            for criterion, value in scores.items():
                scales.setdefault(rating.model, {}).setdefault(criterion, []).append(value)
    esc = html.escape
    out = [f"<p>Chat thumbs: {thumbs['up']} up, {thumbs['down']} down. "
           f"{len(ratings)} ratings in all.</p>"]
    if ab:
        rows = "".join(f"<tr><th>{esc(m)}</th><td class='n'>{w}</td><td class='n'>{t}</td>"
                       f"<td class='n'>{lost}</td></tr>" for m, (w, t, lost) in sorted(ab.items()))
        out.append("<table><tr><th>Blind A/B</th><th>won</th><th>tie</th><th>lost</th></tr>"
                   f"{rows}</table>")
    if scales:
        criteria = sorted({c for per in scales.values() for c in per})
        head = "".join(f"<th>{esc(c)}</th>" for c in criteria)
        rows = "".join(
            f"<tr><th>{esc(m)}</th>" + "".join(
                f"<td class='n'>{sum(v) / len(v):.2f}</td>" if (v := per.get(c)) else
                "<td class='n'>-</td>" for c in criteria) + "</tr>"
            for m, per in sorted(scales.items()))
        out.append(f"<table><tr><th>1-5 ratings (mean)</th>{head}</tr>{rows}</table>")
    return "\n".join(out)


def _scale_scores(project: Any, rating_id: int) -> dict[str, float]:
    rows = project.store.query("SELECT scores FROM ratings WHERE id = ?", (rating_id,))
    try:
        scores = json.loads(rows[0][0]) if rows else {}
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in scores.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _examples(project: Any, table: EvalTable, count: int) -> str:
    esc = html.escape
    wanted = table.question_ids[:max(0, count)]
    if not wanted:
        return "<p class='muted'>No questions.</p>"
    by_label = {row.label: {d.question.id: d for d in answers_for(
        project, row.label, questions=wanted, settings=_settings(table))}
        for row in table.rows}
    blocks = []
    for qid in wanted:
        detail = next((d[qid] for d in by_label.values() if qid in d), None)
        if detail is None:
            continue
        question = detail.question
        lines = [f"<div class='q'><h3>{esc(question.question)}</h3>",
                 f"<p class='muted'>{esc(question.role)}"
                 f"{'' if question.in_scope else ' - out of scope: should be escalated'}</p>"]
        if question.reference:
            lines.append(f"<p><b>Reference:</b> {esc(question.reference)}</p>")
        rows = "".join(
            f"<tr><th>{esc(label)}</th><td class='answer'>{esc(answers[qid].answer)}</td></tr>"
            for label, answers in by_label.items() if qid in answers)
        lines.append(f"<table>{rows}</table></div>")
        blocks.append("".join(lines))
    return "\n".join(blocks)


def _settings(table: EvalTable) -> Any:
    from core.evaluation.models import EvalSettings

    return EvalSettings.from_dict(table.settings)
