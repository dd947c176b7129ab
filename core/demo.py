"""The headless pipeline: every wizard step built so far, on the sample company.

``talksmall demo`` (and ``./run.sh --headless``) runs it in a terminal. Each step reports
what it did and how long it took; the report is returned as a dict for ``--json``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ProjectError

SIZES = {
    # questions answered by the embedded model as a smoke check, tokens per answer
    # and how many conversation work items the embedded teacher makes
    "ci": {"questions": 1, "max_tokens": 48, "generate": 8},
    "full": {"questions": 3, "max_tokens": 160, "generate": 120},
}
QUESTIONS = (
    "Hi, how much is the deposit for a flat?",
    "What should I do if my boiler stops working at night?",
    "How do I book a viewing?",
)


def run_demo(folder: Path, size: str = "ci",
             say: Callable[[str], None] | None = print) -> dict[str, Any]:
    from core.models.embedded import embedded_gguf_path, embedded_hf_dir, embedded_model_info
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
    profile = project.profile()
    prompt = profile.system_prompt()
    emit(f"1/5 Project: created '{profile.company_name}' in {folder}")
    emit(f"    roles {', '.join(profile.customer_roles)}; tone target Flesch >= "
         f"{profile.tone_target:g}; {len(profile.policy_lines())} policies; system prompt "
         f"Flesch {flesch_reading_ease(prompt):.0f}")
    step("project", started, path=str(folder), company=profile.company_name)

    # 2. Documents: import the sample company's files, personal data redacted.
    from core.documents import import_files

    started = time.perf_counter()
    results = import_files(project, [folder / "sample-documents"])
    for result in results:
        emit(f"    {result.status:<9} {result.name}  ({result.message})")
    imported = [r for r in results if r.status == "imported"]
    emit(f"2/5 Documents: {len(imported)} of {len(results)} imported, "
         f"{sum(r.chunks for r in imported)} chunks, "
         f"{sum(r.redactions for r in imported)} personal-data items redacted")
    step("documents", started, files=[r.to_dict() for r in results])

    # 3. Models: the embedded model, answering through llama.cpp (no training yet).
    started = time.perf_counter()
    info = embedded_model_info()
    emit(f"3/5 Model: {info.name}, {info.parameters / 1e6:.0f}M parameters, "
         f"{info.size_bytes / 1e6:.0f} MB, {info.licence}")
    answers = []
    for question in QUESTIONS[: settings["questions"]]:
        answer, seconds, tokens = _answer(embedded_gguf_path(), prompt, question,
                                          profile.customer_roles[0], settings["max_tokens"])
        answers.append({"question": question, "answer": answer, "tokens": tokens,
                        "tokens_per_s": round(tokens / max(seconds, 1e-6), 1)})
        emit(f"    {profile.customer_roles[0]}: {question}\n    base model: {answer}")
    step("model", started, answers=answers)

    # 4. Conversations: the embedded teacher writes gated training conversations.
    started = time.perf_counter()
    generation = _generate(project, settings["generate"])
    run = generation["run"]
    emit(f"4/5 Conversations: {run['processed']} items in {run['seconds']:.0f} s: "
         f"{run['kept']} kept, {run['dropped']} dropped, {run['pairs']} preference pairs")
    for gate, stats in generation["summary"]["rejected_by_gate"].items():
        emit(f"    rejected by {gate}: {stats['count']} ({stats['share'] * 100:.0f}%)")
    step("conversations", started, **generation)

    # 5. Prepare the embedded model for training (one-time conversion, then cached).
    started = time.perf_counter()
    hf_dir = embedded_hf_dir(progress=None)
    emit(f"5/5 Training base ready: {hf_dir} ({time.perf_counter() - started:.1f} s)")
    step("prepare-base", started, path=str(hf_dir))

    project.close()
    emit("Done. Open the app (./run.sh) to continue with this project: "
         f"{folder}")
    report["project"] = str(folder)
    return report


def _generate(project: Any, limit: int) -> dict[str, Any]:
    from core.conversations.pipeline import generate_conversations
    from core.conversations.settings import load_settings
    from core.conversations.store import summary
    from core.teachers import embedded_teacher

    settings = load_settings(project)
    settings.limit = limit
    teacher = embedded_teacher()
    try:
        report = generate_conversations(project, teacher, settings)
    finally:
        teacher.close()
    return {"run": report.to_dict(), "summary": summary(project)}


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
