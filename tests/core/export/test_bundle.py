"""export_assistant: a trained run as a bundle (GGUF, trimmed index, Modelfile, card, zip).

The slow tests share one export of a small real project (the sample company's policies.md
and its first three support tickets, which carry planted personal data) whose "finished
run" links to the converted embedded model (tests/core/chat/test_runs.py's pattern).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from core.chat.runs import model_for_run
from core.errors import ModelError, ValidationError
from core.export.bundle import (
    MANIFEST,
    ExportResult,
    list_exports,
    parse_quants,
    read_manifest,
)
from core.export.bundle import export_assistant as _export_assistant
from core.export.model_card import render_model_card
from core.export.modelfile import ollama_template
from core.project import Project, create_project
from tests.core.chat.helpers import FEE_QUESTION
from tests.core.chat.test_runs import RUN, fake_finished_run

TICKETS = 3  # the first tickets of the sample; each holds names, phones, addresses


def export_assistant(*args, **kwargs) -> ExportResult:
    """These tests are about the bundle: the fake run was never evaluated, so they override
    the release gates (test_release_gates_* check the refusal itself)."""
    kwargs.setdefault("override_gates", True)
    return _export_assistant(*args, **kwargs)


class Cancelled(Exception):
    pass


def _project_with_documents(folder: Path) -> tuple[Project, list[str]]:
    """policies.md and a three-ticket CSV imported; returns the planted personal data."""
    from core.documents import import_files
    from core.sample import sample_dir, sample_documents, sample_profile

    with (sample_dir() / "tickets.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:TICKETS]
    folder.mkdir(parents=True)
    tickets = folder / "tickets.csv"
    with tickets.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    manifest = json.loads((sample_dir() / "pii_manifest.json").read_text(encoding="utf-8"))
    ids = {row["ticket_id"] for row in rows}
    planted = sorted({item["text"] for item in manifest["items"] if item["ticket_id"] in ids
                      and len(item["text"]) >= 6})
    project = create_project(folder / "project", company_name="Kestrel Quay Lettings")
    profile = sample_profile()  # one policy line: a short prompt keeps the chat test quick
    project.save_profile(replace(profile, policies=profile.policies.splitlines()[0]))
    policies = [p for p in sample_documents() if p.name == "policies.md"]
    results = import_files(project, [*policies, tickets])
    assert [r.status for r in results] == ["imported", "imported"]
    return project, planted


def _add_training_data(project: Project) -> None:
    """Two kept conversations and a preference pair, as the Conversations step stores them."""
    chunk = project.store.query("SELECT id FROM chunks ORDER BY id LIMIT 1")[0][0]
    with project.store.transaction() as conn:
        for question in ("When is rent due?", "Can I pay by card?"):
            messages = json.dumps([{"role": "tenant", "content": question},
                                   {"role": "assistant", "content": "On the 1st."}])
            conn.execute("INSERT INTO examples (chunk_id, source, role, messages, status) "
                         "VALUES (?, 'heading', 'tenant', ?, 'kept')", (chunk, messages))
        conn.execute("INSERT INTO pairs (chunk_id, source, role, prompt, chosen, rejected, "
                     "status) VALUES (?, 'formal', 'tenant', '[]', 'Yes.', 'No.', 'accepted')",
                     (chunk,))


def _describe_run(run: Path) -> None:
    """What training writes beside final/: the spec and data sizes, metrics, a summary."""
    config = json.loads((run / "config.json").read_text())
    config.update({"spec": {"method": "sft", "preset": "quick-cpu",
                            "params": {"epochs": 1.0, "learning_rate": 5e-4, "lora": False,
                                       "seed": 42, "not_key": 1}},
                   "base": "SmolLM2-135M-Instruct (embedded)",
                   "data": {"train": 18, "validation": 2}})
    (run / "config.json").write_text(json.dumps(config))
    (run / "spec.json").write_text(json.dumps(config["spec"]))
    (run / "events.jsonl").write_text(
        '{"type": "started", "run": "x"}\n'
        '{"type": "metric", "step": 4, "loss": 1.25, "eval_loss": 1.5}\n'
        '{"type": "finished", "status": "succeeded"}\n')


@pytest.fixture(scope="module")
def exported(embedded_conversion, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("bundle")
    project, planted = _project_with_documents(folder / "company")
    _add_training_data(project)
    _describe_run(fake_finished_run(project.runs_dir, embedded_conversion.path))
    progress: list[tuple[float, str]] = []
    result = export_assistant(project, None, ["f16", "q4_k_m"],
                              progress=lambda f, m: progress.append((f, m)))
    print(f"\n[export f16 + q4_k_m + index + zip] {result.seconds:.1f} s")
    yield {"project": project, "result": result, "progress": progress, "planted": planted,
           "tmp": folder}
    project.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- fast: validation, templates, the card -------------------------------------------------


def test_unknown_run_bad_quant_and_bad_targets_are_validation_errors(tmp_path: Path):
    project = create_project(tmp_path / "p", company_name="Acme")
    try:
        with pytest.raises(ValidationError, match="Train a model first") as caught:
            export_assistant(project)
        assert caught.value.field == "run"
        with pytest.raises(ValidationError, match="no-such-run") as caught:
            export_assistant(project, "no-such-run")
        assert caught.value.field == "run"
        with pytest.raises(ValidationError) as caught:
            export_assistant(project, "no-such-run", ["q3_k_s"])
        assert caught.value.field == "quant" and "q4_k_m" in caught.value.hint

        (project.runs_dir / RUN / "final").mkdir(parents=True)
        (project.runs_dir / RUN / "final" / "config.json").write_text("{}")
        a_file = tmp_path / "not-a-folder"
        a_file.write_text("x")
        with pytest.raises(ValidationError, match="is a file") as caught:
            export_assistant(project, RUN, out_dir=a_file)
        assert caught.value.field == "out"
        with pytest.raises(ValidationError) as caught:
            export_assistant(project, RUN, name="../escape")
        assert caught.value.field == "name"
        foreign = project.exports_dir / "taken"
        foreign.mkdir(parents=True)
        (foreign / "notes.txt").write_text("someone's files")
        with pytest.raises(ValidationError, match="not a TalkSmall export"):
            export_assistant(project, RUN, name="taken")
        assert _listing(project.exports_dir) == ["taken"]  # nothing started, nothing left
        assert list_exports(project) == []
    finally:
        project.close()


def test_too_little_free_space_is_refused_before_writing(tmp_path: Path):
    from core.export.bundle import _check_space

    with pytest.raises(ValidationError, match="Not enough free space") as caught:
        _check_space(tmp_path, 10**15, ["f16", "q4_k_m"])
    assert caught.value.field == "out" and "another folder" in caught.value.hint
    _check_space(tmp_path, 1000, ["f16"])  # a small export fits


def test_quants_accept_all_and_drop_repeats():
    assert parse_quants(["all"]) == ["f16", "q8_0", "q4_k_m"]
    assert parse_quants(["Q4_K_M", "f16", "q4_k_m"]) == ["q4_k_m", "f16"]
    assert parse_quants("q8_0") == ["q8_0"]
    for bad in (["f32"], [], ["q4"]):
        with pytest.raises(ValidationError):
            parse_quants(bad)


def test_chat_templates_become_ollama_templates_or_a_clear_refusal():
    chatml = ollama_template("{{'<|im_start|>' + m['role']}}{{'<|im_end|>'}}", "tenant")
    assert chatml.family == "chatml" and chatml.stops == ("<|im_end|>", "<|im_start|>")
    assert '{{ if eq .Role "user" }}tenant{{ else }}{{ .Role }}{{ end }}' in chatml.template
    assert chatml.template.endswith("<|im_start|>assistant\n")
    llama3 = ollama_template("<|start_header_id|>{{ role }}<|end_header_id|><|eot_id|>")
    assert llama3.family == "llama3" and "<|eot_id|>" in llama3.stops
    assert "<|start_header_id|>assistant<|end_header_id|>\n\n" in llama3.template
    with pytest.raises(ModelError, match="neither ChatML") as caught:
        ollama_template("[INST] {{ content }} [/INST]")
    assert caught.value.hint


def test_the_model_card_shows_an_evaluation_table_when_there_is_one():
    facts = {"run_id": "r1", "method": "ipo", "preset": "", "base": "b", "params": {},
             "split": {}, "examples": 5, "pairs": 2, "train_loss": None, "eval_loss": 0.5,
             "steps": 3, "evaluation": [{"model": "base", "readable": 0.4},
                                        {"model": "r1", "readable": 0.9}]}
    card = render_model_card(facts, company="Acme", name="acme-r1", created="today",
                             version="0.1.0", files=[])
    assert "| model | readable |" in card and "| r1 | 0.9 |" in card
    assert "validation loss 0.5 after 3 steps" in card
    facts["evaluation"] = []
    assert "Not evaluated yet" in render_model_card(facts, company="Acme", name="acme-r1",
                                                    created="today", version="0.1.0", files=[])


# --- slow: one real export, shared -----------------------------------------------------------


@pytest.mark.slow
def test_every_file_is_there_with_the_size_reported(exported):
    result: ExportResult = exported["result"]
    project = exported["project"]
    assert result.folder == project.exports_dir / f"kestrel-quay-lettings-{RUN}"
    assert result.run_id == RUN and result.quants == ["f16", "q4_k_m"]
    names = [name for name, _ in result.files]
    assert sorted(names) == _listing(result.folder) == sorted(
        ["model-f16.gguf", "model-q4_k_m.gguf", "index.sqlite", "Modelfile", "README.md",
         "MODEL_CARD.md", "chat_template.jinja", MANIFEST])
    for name, size in result.files:
        assert (result.folder / name).stat().st_size == size, name
    assert _listing(project.exports_dir) == sorted([result.folder.name,
                                                    f"{result.folder.name}.zip"])
    fractions = [f for f, _ in exported["progress"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    messages = [m for _, m in exported["progress"]]
    assert any(m.startswith("model-q4_k_m.gguf: ") and m.endswith(" MB") for m in messages)

    manifest = read_manifest(result.folder)
    assert manifest is not None
    assert manifest["run_id"] == RUN and manifest["company"] == "Kestrel Quay Lettings"
    assert manifest["quants"] == {"f16": "model-f16.gguf", "q4_k_m": "model-q4_k_m.gguf"}
    assert manifest["method"] == "sft" and manifest["base"].startswith("SmolLM2")
    assert manifest["index"] == "index.sqlite" and manifest["talksmall_version"]
    assert set(manifest["files"]) == set(names) - {MANIFEST}
    for name, entry in manifest["files"].items():
        assert entry["size"] == (result.folder / name).stat().st_size
        assert entry["sha256"] == _sha256(result.folder / name), name
    q4 = (result.folder / "model-q4_k_m.gguf").stat().st_size
    assert q4 < 0.5 * (result.folder / "model-f16.gguf").stat().st_size
    # The f16 file is the run's chat model itself (reused, not exported again): the greedy
    # equality of that file is covered by tests/core/export/test_gguf_export.py.
    assert _sha256(result.folder / "model-f16.gguf") == _sha256(model_for_run(project, RUN))

    listed = list_exports(project)
    assert [e.name for e in listed] == [result.folder.name]
    assert listed[0].quants == manifest["quants"] and listed[0].zip_path == result.zip_path
    assert listed[0].sizes["model-q4_k_m.gguf"] == q4
    data = result.to_dict()
    assert data["folder"] == str(result.folder) and data["run"] == RUN
    assert {f["name"]: f["size"] for f in data["files"]} == dict(result.files)


@pytest.mark.slow
def test_the_modelfile_card_and_readme_say_what_runs_where(exported):
    folder = exported["result"].folder
    project = exported["project"]
    modelfile = (folder / "Modelfile").read_text(encoding="utf-8")
    assert "TONE ONLY, WITHOUT COMPANY FACTS" in modelfile
    assert "<analysis>" in modelfile and "<intent>" in modelfile
    assert "\nFROM ./model-q4_k_m.gguf\n" in modelfile
    assert 'TEMPLATE """{{- range .Messages }}<|im_start|>' in modelfile
    assert "tenant" in modelfile.split("TEMPLATE", 1)[1].split("SYSTEM", 1)[0]
    assert f'SYSTEM """{project.profile().system_prompt()}"""' in modelfile
    for line in ('PARAMETER stop "<|im_end|>"', "PARAMETER temperature 0.2",
                 "PARAMETER top_p 0.95", "PARAMETER num_ctx 4096"):
        assert f"\n{line}\n" in modelfile
    assert "<|im_start|>" in (folder / "chat_template.jinja").read_text(encoding="utf-8")

    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    for expected in ("Kestrel Quay Lettings", "SmolLM2-135M-Instruct (embedded)",
                     "sft (preset quick-cpu)", "learning_rate 0.0005", "epochs 1,",
                     "2 usable training conversations", "1 preference pairs",
                     "18 for training, 2 held out", "training loss 1.25",
                     "validation loss 1.5", "Not evaluated yet", "model-q4_k_m.gguf",
                     _sha256(folder / "model-q4_k_m.gguf")):
        assert expected in card, expected
    assert "not_key" not in card

    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert f"talksmall serve {folder.name}" in readme and f"talksmall chat {folder.name}" in readme
    assert "llama-server -m model-q4_k_m.gguf --jinja" in readme
    assert "ollama create kestrel-quay-lettings -f Modelfile" in readme
    assert "LM Studio" in readme
    assert readme.count("tone only, without company facts") >= 4  # llama.cpp x2, Ollama, LM


@pytest.mark.slow
def test_the_index_copy_has_the_chunks_and_no_personal_or_training_data(exported):
    project = exported["project"]
    index = exported["result"].folder / "index.sqlite"
    raw = index.read_bytes()
    stored = b"".join(p.read_bytes() for p in project.root.glob("project.sqlite*"))
    planted = exported["planted"]
    assert len(planted) >= 5
    assert any(item.encode() in stored for item in planted), "the test data has no PII"
    leaked = [item for item in planted if item.encode() in raw]
    assert leaked == [], f"personal data in the exported index: {leaked}"
    assert str(project.root).encode() not in raw  # no local paths either

    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")}
        assert {"documents", "chunks", "chunks_fts", "chunk_vectors", "retrieval_state",
                "settings"} <= tables
        for gone in ("redactions", "examples", "pairs", "generation_work", "runs", "models",
                     "ratings"):
            assert gone not in tables, gone
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        assert chunks == project.store.query("SELECT COUNT(*) FROM chunks")[0][0] > 5
        assert conn.execute("SELECT COUNT(*) FROM chunk_vectors").fetchone()[0] == chunks
        assert conn.execute("SELECT COUNT(*) FROM chunks WHERE original_text != text"
                            ).fetchone()[0] == 0
        assert [r[0] for r in conn.execute("SELECT key FROM settings")] == ["profile"]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        hits = conn.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'fee'"
                            ).fetchone()[0]
        assert hits > 0
    finally:
        conn.close()
    assert project.store.query("SELECT COUNT(*) FROM redactions")[0][0] > 0  # still at home


@pytest.mark.slow
def test_the_zip_holds_the_same_files(exported):
    result: ExportResult = exported["result"]
    assert result.zip_path == result.folder.with_name(f"{result.folder.name}.zip")
    with zipfile.ZipFile(result.zip_path) as archive:
        entries = {info.filename: info for info in archive.infolist()}
    prefix = f"{result.folder.name}/"
    assert sorted(entries) == sorted(prefix + name for name, _ in result.files)
    for name, size in result.files:
        info = entries[prefix + name]
        assert info.file_size == size
        expected = zipfile.ZIP_STORED if name.endswith((".gguf", ".sqlite")) \
            else zipfile.ZIP_DEFLATED
        assert info.compress_type == expected, name


@pytest.mark.slow
def test_the_export_folder_answers_with_retrieved_passages(exported):
    from core.chat.target import open_engine

    folder = exported["result"].folder
    before = _sha256(folder / "index.sqlite")
    engine = open_engine(folder, quant="q4_k_m", n_ctx=2048, k=1)
    try:
        assert engine.model_path == folder / "model-q4_k_m.gguf"
        assert engine.project is not None and engine.project.name == "Kestrel Quay Lettings"
        answer = engine.answer([{"role": "user", "content": FEE_QUESTION}], max_tokens=12,
                               temperature=0.0)
        assert not answer.escalated and answer.tokens > 0 and answer.text
        assert answer.role == "tenant"
        assert any(p.document == "policies.md" and "fee" in p.text.lower()
                   for p in answer.passages)
    finally:
        engine.close()
        engine.project.close()
    assert _sha256(folder / "index.sqlite") == before  # opened read-only
    assert _listing(folder) == sorted(n for n, _ in exported["result"].files)
    default = open_engine(folder)  # the best quality it holds: f16 (no q8_0 here)
    try:
        assert default.model_path.name == "model-f16.gguf"
    finally:
        default.project.close()
    with pytest.raises(ValidationError, match="no q8_0"):
        open_engine(folder, quant="q8_0")
    with pytest.raises(ValidationError) as caught:
        open_engine(folder, run=RUN)
    assert caught.value.field == "run"


@pytest.mark.slow
def test_a_cancel_leaves_nothing_and_a_replace_happens_only_when_complete(exported):
    project = exported["project"]
    result: ExportResult = exported["result"]
    before = _listing(project.exports_dir)
    created = read_manifest(result.folder)["created"]

    for stage in ("Writing f32 weights", "Copying the company index", "Zipping"):
        def cancel(fraction: float, message: str, stage: str = stage) -> None:
            if message.startswith(stage):
                raise Cancelled(stage)

        with pytest.raises(Cancelled):  # the same name: the old export must survive
            export_assistant(project, RUN, ["q4_k_m", "f16"], name=result.folder.name,
                             progress=cancel)
        assert _listing(project.exports_dir) == before, stage
        assert read_manifest(result.folder)["created"] == created

    def late_cancel(fraction: float, message: str) -> None:
        if fraction > 0.5:
            raise Cancelled(message)

    with pytest.raises(Cancelled):  # folders the export created are removed again
        export_assistant(project, RUN, ["f16"], out_dir=exported["tmp"] / "new" / "deeper",
                         progress=late_cancel)
    assert not (exported["tmp"] / "new").exists()

    other = exported["tmp"] / "elsewhere"
    replaced = export_assistant(project, RUN, ["f16"], out_dir=other, name="copy",
                                make_zip=False)
    assert _listing(other) == ["copy"] and replaced.zip_path is None
    again = export_assistant(project, RUN, ["f16"], out_dir=other, name="copy")
    assert _listing(other) == ["copy", "copy.zip"] and again.quants == ["f16"]
    final = export_assistant(project, RUN, ["f16"], out_dir=other, name="copy", make_zip=False)
    assert _listing(other) == ["copy"] and final.folder == other / "copy"  # stale zip gone


@pytest.mark.slow
def test_the_job_exports_in_a_child_process(exported, tmp_path: Path):
    from core.jobs.launch import child_env, write_spec

    project = exported["project"]
    run_dir = tmp_path / "job"
    run_dir.mkdir()
    spec = write_spec(run_dir, {"project": str(project.root), "run": RUN, "quants": ["f16"],
                                "out_dir": str(tmp_path / "out"), "name": "from-job",
                                "zip": False, "override_gates": True})
    done = subprocess.run([sys.executable, "-m", "core.jobs", "export-assistant", "--spec",
                           str(spec)], capture_output=True, text=True, env=child_env(),
                          timeout=300)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, events[-3:]
    finished = events[-1]
    assert finished["type"] == "finished" and finished["status"] == "succeeded"
    assert finished["output"] == str(tmp_path / "out" / "from-job")
    steps = [e["step"] for e in events if e["type"] == "progress"]
    assert steps == sorted(steps) and steps[-1] == 100
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert any(m.startswith("model-f16.gguf: ") for m in logs)
    assert read_manifest(tmp_path / "out" / "from-job")["quants"] == {"f16": "model-f16.gguf"}


@pytest.mark.slow
def test_the_cli_exports_and_prints_json(exported, tmp_path: Path, capsys):
    from core.cli import main

    project = exported["project"]
    code = main(["export", str(project.root), "--override-gates", "--run", RUN, "--quant",
                 "f16", "--out",
                 str(tmp_path), "--name", "cli", "--no-zip", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    assert data["folder"] == str(tmp_path / "cli") and data["zip"] is None
    assert data["quants"] == ["f16"] and data["run"] == RUN
    assert {f["name"] for f in data["files"]} == set(_listing(tmp_path / "cli"))

    code = main(["export", str(project.root), "--override-gates", "--quant", "f16", "--out",
                 str(tmp_path), "--name", "cli"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "model-f16.gguf" in out.out and " MB" in out.out and "cli.zip" in out.out
    assert "[100%]" in out.err  # progress goes to stderr, a line per new message (not a tty)
    lines = out.err.splitlines()
    assert len(lines) == len(set(lines)) < 60


@pytest.mark.slow
def test_release_gates_refuse_an_unevaluated_or_failing_run_unless_overridden(exported,
                                                                              tmp_path: Path):
    from core.evaluation.questions import add_question
    from core.evaluation.runner import evaluate
    from core.pipeline.gates import GateSettings, check_gates, save_gate_settings

    project = exported["project"]
    out = tmp_path / "gated"
    with pytest.raises(ValidationError, match="no stored answers") as caught:
        _export_assistant(project, RUN, ["f16"], out_dir=out, name="refused")
    assert caught.value.field == "gates" and "override" in caught.value.hint
    # a golden question whose fact no answer can hold: the golden gate fails
    golden = add_question(project, FEE_QUESTION, role="tenant", must_contain=["£987654"])
    label = f"run:{RUN}+retrieval"
    evaluate(project, [label], questions=[golden.id])
    save_gate_settings(project, GateSettings(min_readable_share=0.0))
    report = check_gates(project, RUN)
    assert [g.status for g in report.gates] == ["failed", "passed", "not_applicable"]
    assert report.gates[0].failures[0].reason == "missing: £987654"
    with pytest.raises(ValidationError, match="Golden questions"):
        _export_assistant(project, RUN, ["f16"], out_dir=out, name="refused")
    assert not out.exists() or not list(out.iterdir())
    # the operator lowers the golden bar: the same answers now pass and the export goes on
    save_gate_settings(project, GateSettings(golden_min_share=0.0, min_readable_share=0.0))
    result = _export_assistant(project, RUN, ["f16"], out_dir=out, name="passed",
                               make_zip=False)
    gates = read_manifest(result.folder)["release_gates"]
    assert gates["passed"] is True and gates["label"] == label
    overridden = _export_assistant(project, RUN, ["f16"], out_dir=out, name="overridden",
                                   make_zip=False, override_gates=True)
    assert read_manifest(overridden.folder)["release_gates"] == {"overridden": True}


def test_what_a_killed_export_left_is_tidied_and_a_parked_export_comes_back(tmp_path: Path):
    from core.export.bundle import _recover

    (tmp_path / ".acme.abcd_123.tmp").mkdir()  # a workspace
    (tmp_path / ".acme.zip.k2j4h5g6.tmp").write_bytes(b"half a zip")
    parked = tmp_path / ".acme.old.q1w2e3r4" / "acme"
    parked.mkdir(parents=True)  # killed between the two renames of _commit
    (parked / MANIFEST).write_text("{}")
    (tmp_path / ".acme.v2.abcd1234.tmp").mkdir()  # another export's workspace: not ours
    _recover(tmp_path, "acme")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".acme.v2.abcd1234.tmp", "acme"]
    assert (tmp_path / "acme" / MANIFEST).is_file()
