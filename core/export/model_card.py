"""MODEL_CARD.md and README.md of an export: what the model is, and how to run it.

Everything here is read from the run folder (config.json, summary.json, events.jsonl through
core.training.history) and the project (counts of usable examples and pairs), so the card
says what was actually trained, not what the form says now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The hyperparameters a reader of the card cares about, in this order, when present.
KEY_PARAMS = ("epochs", "max_steps", "batch_size", "grad_accum", "learning_rate", "scheduler",
              "max_length", "lora", "lora_r", "lora_alpha", "lora_targets", "beta", "ema_decay",
              "grounded_ratio", "seed")
EVALUATION_FILE = "evaluation.json"  # runs/<id>/evaluation.json: {"rows": [{...}, ...]}


def run_facts(project: Any, run_dir: Path) -> dict[str, Any]:
    """What the card and the manifest say about the run and its data."""
    from core.training.history import run_record

    record = run_record(run_dir)
    config = _read_json(run_dir / "config.json")
    spec = config.get("spec") if isinstance(config.get("spec"), dict) else {}
    params = spec.get("params") if isinstance(spec.get("params"), dict) else {}
    counts = {}
    for table in ("examples", "pairs"):
        rows = project.store.query(
            f"SELECT COUNT(*) FROM {table} WHERE status IN ('kept', 'accepted')")
        counts[table] = int(rows[0][0])
    metrics = record.get("final_metrics") or {}
    return {
        "run_id": run_dir.name,
        "method": record.get("method") or spec.get("method") or "unknown",
        "preset": record.get("preset") or spec.get("preset") or "",
        "base": record.get("base") or "unknown",
        "params": {k: params[k] for k in KEY_PARAMS if k in params},
        "split": config.get("data") if isinstance(config.get("data"), dict) else {},
        "examples": counts["examples"],
        "pairs": counts["pairs"],
        "train_loss": metrics.get("loss"),
        "eval_loss": metrics.get("eval_loss"),
        "steps": record.get("steps"),
        "evaluation": _evaluation_rows(run_dir) or stored_evaluation(project, run_dir.name),
    }


def render_model_card(facts: dict[str, Any], *, company: str, name: str, created: str,
                      version: str, files: list[dict[str, Any]]) -> str:
    lines = [f"# {name}", "",
             f"The customer-support assistant of **{company}**, fine-tuned with TalkSmall "
             "Studio on the company's own documents.", "",
             "## Model", "",
             "| | |", "| --- | --- |",
             f"| Company | {company} |",
             f"| Base model | {facts['base']} |",
             f"| Method | {facts['method']}" + (f" (preset {facts['preset']})"
                                                  if facts["preset"] else "") + " |",
             f"| Run | {facts['run_id']} |",
             f"| Created | {created} |",
             f"| TalkSmall Studio | {version} |", ""]
    if facts["params"]:
        lines += ["Key training settings: " + ", ".join(
            f"{k} {_value(v)}" for k, v in facts["params"].items()) + ".", ""]
    split = facts["split"]
    lines += ["## Data", "",
              f"- {facts['examples']} usable training conversations (kept or accepted) and "
              f"{facts['pairs']} preference pairs in the project at export time."]
    if split:
        lines.append(f"- This run: {split.get('train', '?')} for training, "
                     f"{split.get('validation', '?')} held out for validation.")
    losses = [f"{label} {_value(facts[key])}" for key, label in
              (("train_loss", "training loss"), ("eval_loss", "validation loss"))
              if facts.get(key) is not None]
    if losses:
        lines.append(f"- Final {', '.join(losses)}"
                     + (f" after {facts['steps']} steps." if facts.get("steps") else "."))
    lines += ["", "## Evaluation", ""]
    rows = facts["evaluation"]
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        lines += ["| " + " | ".join(columns) + " |",
                  "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(_value(row.get(c, "")) for c in columns) + " |"
                  for row in rows]
    else:
        lines.append("Not evaluated yet (the Evaluation step had not been run on this model "
                     "when it was exported).")
    lines += ["", "## Files", "", "| file | size | sha256 |", "| --- | ---: | --- |"]
    lines += [f"| {f['name']} | {human_size(f['size'])} | `{f['sha256']}` |" for f in files]
    lines += ["", "## Intended use and limits", "",
              "Answers customers' questions in the company's tone. Facts (prices, dates, "
              "policies) come from the company's documents through retrieval, which only "
              "`talksmall serve` / `talksmall chat` on this folder do; the model alone "
              "(Ollama, LM Studio, llama.cpp) has the tone, not the facts. Personal data in "
              "the documents was redacted before training and indexing. The model may write "
              "hidden `<analysis>`/`<intent>` notes for the operator before its answer; "
              "remove them before a customer sees the text.", ""]
    return "\n".join(lines)


def render_readme(*, name: str, company: str, quant_files: dict[str, str], modelfile_gguf: str,
                  ollama_model: str) -> str:
    smallest = modelfile_gguf
    listing = "\n".join(f"- `{file}` ({quant})" for quant, file in quant_files.items())
    return f"""# {name}: the support assistant of {company}

Made by TalkSmall Studio. Files:

{listing}
- `index.sqlite`: the company's documents, redacted and indexed for search
- `Modelfile`: for Ollama; `chat_template.jinja`: the model's chat template
- `MODEL_CARD.md`: what the model is, its data and evaluation; `talksmall-export.json`: the manifest

## With company facts: TalkSmall

The assistant is the model (the tone) plus the company's documents (the facts). Only
TalkSmall searches the documents before each answer:

```bash
talksmall chat {name}                  # ask in the terminal (--prompt "..." answers once)
talksmall serve {name}                 # an OpenAI-compatible API on 127.0.0.1, with an API key
```

`talksmall serve` prints the URL, the key and a curl example; it removes the hidden notes
from answers and hands a question the documents do not answer to a person.

## Tone only, without company facts

These run the model alone: it writes like the support team of {company} but does not look anything
up, so it may not know (or may invent) prices, dates and policies. It may also begin an answer
with hidden `<analysis>...</analysis><intent>...</intent>` notes meant for the operator:
remove them before a customer sees the answer.

**llama.cpp** (tone only, without company facts):

```bash
llama-server -m {smallest} --jinja -c 4096 --temp 0.2
llama-cli -m {smallest} --jinja -cnv
```

**llama-cpp-python** (tone only, without company facts):

```python
from llama_cpp import Llama
llm = Llama(model_path="{smallest}", n_ctx=4096)
print(llm.create_chat_completion(messages=[{{"role": "user", "content": "Hello!"}}],
                                 temperature=0.2)["choices"][0]["message"]["content"])
```

**Ollama** (tone only, without company facts):

```bash
ollama create {ollama_model} -f Modelfile
ollama run {ollama_model}
```

**LM Studio** (tone only, without company facts): `lms import {smallest}` (or copy the file
into LM Studio's models folder, My Models), load it, and paste the system prompt from the
`SYSTEM` block of `Modelfile` into the chat's system prompt. Temperature 0.2.
"""


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


CARD_METRICS = ("readable_share", "mean_flesch", "similarity", "rouge_l", "policy_adherence",
                "escalation_rate", "wrong_escalation_rate")


def stored_evaluation(project: Any, run_id: str, settings: Any = None) -> list[dict[str, Any]]:
    """The Evaluation step's stored results for this run and the base model's baselines.

    Only rows with answers at ``settings`` (default: the Evaluation step's) count; an export
    never starts evaluating, and a row that cannot be read is left out, never a failed export.
    """
    import sqlite3

    from core.errors import TalkSmallError
    from core.evaluation import METRICS, eval_table

    labels = {m.key: m.label for m in METRICS}
    rows = []
    for label in ("base", "prompted", "retrieval", f"run:{run_id}", f"run:{run_id}+retrieval"):
        try:
            (row,) = eval_table(project, [label], settings=settings).rows
        except (TalkSmallError, sqlite3.Error, ValueError):
            continue  # e.g. a run the evaluation does not know: its row is left out
        if not row.answered:
            continue
        entry: dict[str, Any] = {"model": row.label, "answers": row.answered}
        entry.update({labels[key]: row.metrics.get(key) for key in CARD_METRICS
                      if row.metrics.get(key) is not None})
        rows.append(entry)
    return rows


def _evaluation_rows(run_dir: Path) -> list[dict[str, Any]]:
    data = _read_json(run_dir / EVALUATION_FILE)
    rows = data.get("rows")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")
