"""The headless pipeline on the sample company: "Build my assistant" without a display.

``talksmall demo`` (and ``./run.sh --headless``) runs it in a terminal: the sample company
with its golden questions, its documents imported, the base model's answer, then the build
job (conversations, SFT, IPO, evaluation, release gates, export) with each stage's time,
the evaluation table and the gates, and a first chat with the exported assistant. Each step
reports what it did and how long it took; the report is returned as a dict for ``--json``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ProjectError, TalkSmallError

SIZES = {
    # questions answered by the embedded model as a smoke check, tokens per answer
    # and the build plan (core.pipeline.plan)
    "ci": {"questions": 1, "max_tokens": 48, "plan": "ci"},
    "full": {"questions": 3, "max_tokens": 160, "plan": "cpu"},
}
QUESTIONS = (
    "Hi, how much is the deposit for a flat?",
    "What should I do if my boiler stops working at night?",
    "How do I book a viewing?",
)


def run_demo(folder: Path, size: str = "ci",
             say: Callable[[str], None] | None = print) -> dict[str, Any]:
    from core.chat.target import open_engine
    from core.evaluation.questions import import_questions
    from core.models.embedded import embedded_gguf_path, embedded_model_info
    from core.paths import resources_dir
    from core.pipeline.cli import build_summary
    from core.pipeline.launch import prepare_build, run_build_child
    from core.pipeline.plan import STAGE_TITLES
    from core.pipeline.state import load_state
    from core.project import open_project
    from core.readability import flesch_reading_ease
    from core.sample import init_sample

    settings = SIZES[size]
    emit = say or (lambda _msg: None)
    report: dict[str, Any] = {"size": size, "steps": []}

    def step(name: str, started: float, **facts: Any) -> None:
        facts = {"step": name, "seconds": round(time.perf_counter() - started, 2), **facts}
        report["steps"].append(facts)

    # 1. Project: a fresh copy of the sample company.
    started = time.perf_counter()
    folder = Path(folder).expanduser().resolve()
    if (folder / "project.sqlite").exists():
        if not (folder / "sample-documents").is_dir():
            raise ProjectError(f"{folder} holds a project that is not a demo.",
                               "Pass another folder with --dir.")
        shutil.rmtree(folder)
    project = init_sample(folder)
    golden = import_questions(project, resources_dir() / "sample_company" /
                              "golden_questions.jsonl")
    profile = project.profile()
    prompt = profile.system_prompt()
    emit(f"1/6 Project: created '{profile.company_name}' in {folder}")
    emit(f"    roles {', '.join(profile.customer_roles)}; tone target Flesch >= "
         f"{profile.tone_target:g}; {len(profile.policy_lines())} policies; system prompt "
         f"Flesch {flesch_reading_ease(prompt):.0f}; {golden.added} golden questions for the "
         "release gates")
    step("project", started, path=str(folder), company=profile.company_name)

    # 2. Documents: import the sample company's files, personal data redacted.
    from core.documents import import_files

    started = time.perf_counter()
    results = import_files(project, [folder / "sample-documents"])
    for result in results:
        emit(f"    {result.status:<9} {result.name}  ({result.message})")
    imported = [r for r in results if r.status == "imported"]
    emit(f"2/6 Documents: {len(imported)} of {len(results)} imported, "
         f"{sum(r.chunks for r in imported)} chunks, "
         f"{sum(r.redactions for r in imported)} personal-data items redacted")
    step("documents", started, files=[r.to_dict() for r in results])

    # 3. Models: the embedded model, answering through llama.cpp (no training yet).
    started = time.perf_counter()
    info = embedded_model_info()
    emit(f"3/6 Model: {info.name}, {info.parameters / 1e6:.0f}M parameters, "
         f"{info.size_bytes / 1e6:.0f} MB, {info.licence}")
    answers = []
    for question in QUESTIONS[: settings["questions"]]:
        answer, seconds, tokens = _answer(embedded_gguf_path(), prompt, question,
                                          profile.customer_roles[0], settings["max_tokens"])
        answers.append({"question": question, "answer": answer, "tokens": tokens,
                        "tokens_per_s": round(tokens / max(seconds, 1e-6), 1)})
        emit(f"    {profile.customer_roles[0]}: {question}\n    base model: {answer}")
    step("model", started, answers=answers)

    # 4. Build: conversations -> SFT -> IPO -> evaluation -> gates -> export, one child job.
    started = time.perf_counter()
    run_dir, _spec, command = prepare_build(project, plan=settings["plan"],
                                            override_gates=True)
    project.close()
    emit(f"4/6 Build my assistant ({settings['plan']} plan), run {run_dir.name}:")

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "stage":
            emit(f"    [{event['index']}/{event['of']}] {STAGE_TITLES.get(event['name'], '')}")
        elif event["type"] == "error":
            emit(f"    error: {event['message']} {event.get('hint', '')}".rstrip())

    status, timings = run_build_child(command, on_event)
    for name, seconds in timings.items():
        emit(f"    {name:<14} {seconds:7.1f} s")
    step("build", started, status=status, stage_seconds=timings)
    if status != "succeeded":
        raise TalkSmallError(f"The build ended {status}; the details are in {run_dir}.",
                             f"Run 'talksmall build {folder}' to continue it.")

    # 5. The evaluation table, the release gates and the chosen model.
    summary = build_summary(folder)
    emit("5/6 Evaluation and release gates (the demo exports even when a gate fails, as "
         "--override-gates does; a real build stops there):")
    emit("\n".join("    " + line for line in summary.splitlines()))
    project = open_project(folder)
    state = load_state(project) or {}
    project.close()
    report["build"] = {"selection": state.get("selection"), "export": state.get("export")}

    # 6. Chat with the exported assistant (model + company index), as `talksmall chat` does.
    started = time.perf_counter()
    engine = open_engine(str(state["export"]))
    try:
        question = QUESTIONS[0]
        answer = engine.answer([{"role": "user", "content": question}],
                               max_tokens=settings["max_tokens"], temperature=0.0)
    finally:
        engine.close()
    emit(f"6/6 Chat with {state['export']}:\n    {question}\n    assistant: {answer.text}")
    step("chat", started, question=question, answer=answer.text)
    emit("Done. Chat with it: talksmall chat " + str(state["export"]) +
         "\n      or open the app (./run.sh) on the project: " + str(folder))
    report["project"] = str(folder)
    report["export"] = str(state["export"])
    return report


def _answer(gguf: Path, system: str, question: str, role: str,
            max_tokens: int) -> tuple[str, float, int]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=2, seed=0, verbose=False)
    started = time.perf_counter()
    result = llm.create_chat_completion(
        messages=[{"role": "system", "content": system}, {"role": role, "content": question}],
        max_tokens=max_tokens, temperature=0.0,
    )
    seconds = time.perf_counter() - started
    text = result["choices"][0]["message"]["content"].strip()
    return text, seconds, int(result["usage"]["completion_tokens"])
