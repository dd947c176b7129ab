"""TRL trainers set up for our recipes: SFTTrainer on pre-tokenized, assistant-masked rows;
DPOTrainer for IPO (loss "ipo") and DPO (loss "sigmoid") with an explicit frozen reference.

Both use our learning-rate schedule (warm-up from a start ratio, linear or cosine decay to a
floor, as the Talk Small recipe describes), our event callback, and the variant callbacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.training.callbacks import EventsCallback
from core.training.speed import dpo_config, make_schedule, sft_config
from core.training.variants import AdapterRefSync, PolicyEMA


@dataclass
class Built:
    trainer: Any
    events: EventsCallback
    ema: PolicyEMA | None = None
    ref_sync: AdapterRefSync | None = None
    ref_model: Any = None
    sampler: Any = None
    sync_steps: int = 0


def _scheduled(base_class: type, params: dict[str, Any]) -> type:
    class Scheduled(base_class):  # type: ignore[misc, valid-type]
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            if self.lr_scheduler is None:
                self.lr_scheduler = make_schedule(optimizer or self.optimizer, params,
                                                  num_training_steps)
            return self.lr_scheduler

    Scheduled.__name__ = f"Scheduled{base_class.__name__}"
    return Scheduled


def sft_trainer_class(params: dict[str, Any], device: Any) -> type:
    """Our SFTTrainer: our schedule; off CUDA, the label-only loss of core.training.loss
    (TRL's fused LM head runs its gradients in float32 there)."""
    from trl import SFTTrainer

    from core.training import loss

    trainer_class = _scheduled(SFTTrainer, params)
    if loss.applies(device, preference=False):
        trainer_class = loss.cpu_loss_trainer(trainer_class)
    return trainer_class


def steps_per_epoch(rows: int, params: dict[str, Any]) -> int:
    batches = math.ceil(rows / int(params["batch_size"]))
    return max(1, batches // int(params["grad_accum"]))


def build_trainer(spec: Any, ctx: Any, *, base: Any, tokenizer: Any, template: str,
                  split: Any, device: Any, precision: str,
                  extra_callbacks: tuple[Any, ...] = ()) -> Built:
    from datasets import Dataset

    from core.training.data import sample_questions
    from core.training.estimate import planned_steps
    from core.training.models import add_lora, load_model

    params = spec.params
    output_dir = ctx.run_dir / "checkpoints"
    steps = planned_steps(params, len(split.train))
    model = load_model(base, params, device, tokenizer)
    if spec.lora:
        model = add_lora(model, params)
    prompts = (_spec_prompts(spec.questions, split.train) if spec.questions
               else sample_questions(split.validation + split.train))
    sampler = None
    if int(params["sample_tokens"]) > 0 and prompts:
        sampler = make_sampler(tokenizer, template, prompts, int(params["sample_tokens"]))
    sample_every = int(params["sample_every"]) or max(1, steps // 5)
    events = EventsCallback(ctx, total_steps=steps,
                            explode_grad_norm=float(params["explode_grad_norm"]),
                            sample_every=sample_every, sample_fn=sampler)
    callbacks: list[Any] = [events]

    if not spec.preference:
        from core.training.data import tokenize_split

        max_length = int(params["max_length"])
        rows = tokenize_split(tokenizer, template, split.train, max_length)
        valid_rows = tokenize_split(tokenizer, template, split.validation, max_length)
        for kept, source in ((rows, split.train), (valid_rows, split.validation)):
            if not kept and source:
                _too_short(tokenizer, template, source, max_length)
        # Grounded rows carry two passages (~300-600 tokens) on top of the system prompt.
        cut = sum(len(row["input_ids"]) >= max_length for row in rows)
        cut += len(split.train) - len(rows)  # cut before any answer: left out
        if cut:
            ctx.log("warning", f"{cut} of {len(split.train)} training conversations reach "
                    f"max_length {max_length} and are cut short; raise max_length to keep "
                    "them whole")
        train = Dataset.from_list(rows)
        valid = Dataset.from_list(valid_rows)
        args = sft_config(output_dir, params, device, precision, steps)
        trainer = sft_trainer_class(params, device)(
            model=model, args=args, train_dataset=train, eval_dataset=valid,
            processing_class=tokenizer, callbacks=callbacks + list(extra_callbacks))
        _bind(extra_callbacks, trainer)
        return Built(trainer=trainer, events=events, sampler=sampler)

    from trl import DPOTrainer

    from core.training.data import preference_rows

    tokenizer.chat_template = template  # role headers as in SFT
    ema = PolicyEMA(float(params["ema_decay"]), spec.lora) if spec.method == "ipo-ema" else None
    sync_steps = 0
    ref_sync = None
    if spec.method == "ipo-checkpoint":
        sync_steps = max(1, round(float(params["ref_sync_fraction"])
                                  * steps_per_epoch(len(split.train), params)))
        ctx.log("info", f"the reference is re-synced to the model every {sync_steps} steps")
        if spec.lora:
            ref_sync = AdapterRefSync(sync_steps)
    ref_model = None
    if not spec.lora:
        ref_model = load_model(base, params, device, tokenizer)
        ref_model.requires_grad_(False)
        ref_model.eval()
    for extra in (ema, ref_sync):
        if extra is not None:
            callbacks.append(extra)
    args = dpo_config(output_dir, params, device, precision, steps, method=spec.method,
                      sync_steps=sync_steps if not spec.lora else 0)
    trainer = _scheduled(DPOTrainer, params)(
        model=model, ref_model=ref_model, args=args,
        train_dataset=Dataset.from_list(preference_rows(split.train)),
        eval_dataset=Dataset.from_list(preference_rows(split.validation)),
        processing_class=tokenizer, callbacks=callbacks + list(extra_callbacks))
    _bind(extra_callbacks, trainer)
    return Built(trainer=trainer, events=events, ema=ema, ref_sync=ref_sync,
                 ref_model=trainer.ref_model, sampler=sampler, sync_steps=sync_steps)


def _spec_prompts(questions: list[str], rows: list[dict[str, Any]]) -> list[Any]:
    """The operator's questions, asked as the data asks: same system prompt, first role.

    A grounded row's passages belong to its own question, so they are cut from the system
    turn (build_prompt puts them after the system prompt): the questions are asked
    closed-book."""
    from core.chat.prompt import PASSAGES_HEADING
    from core.training.data import role_of

    first = rows[0] if rows else {}
    turns = first.get("messages") or first.get("prompt") or []
    system = []
    if turns and turns[0]["role"] == "system":
        text = turns[0]["content"].partition(PASSAGES_HEADING)[0].rstrip()
        system = [{"role": "system", "content": text}] if text else []
    role = role_of(first) if first else "user"
    return [[*system, {"role": role, "content": q}] for q in questions]


def _bind(callbacks: tuple[Any, ...], trainer: Any) -> None:
    """Observers (tests, benchmarks) that need the trainer itself get it once it exists."""
    for callback in callbacks:
        bind = getattr(callback, "bind_trainer", None)
        if bind is not None:
            bind(trainer)


def make_sampler(tokenizer: Any, template: str, prompts: list[list[dict[str, str]]],
                 max_new_tokens: int) -> Any:
    """A function model -> [(question, answer)], greedy, for the live sample answers."""
    import torch

    stop_ids = [tokenizer.eos_token_id]
    for token in ("<|im_end|>", "<|eot_id|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            stop_ids.append(token_id)

    @torch.no_grad()
    def sample(model: Any) -> list[tuple[str, str]]:
        was_training = model.training
        model.eval()
        out = []
        try:
            for prompt in prompts:
                inputs = tokenizer.apply_chat_template(prompt, chat_template=template,
                                                       add_generation_prompt=True,
                                                       return_tensors="pt", return_dict=True)
                inputs = {k: v.to(model.device) for k, v in inputs.items()}
                generated = model.generate(**inputs, max_new_tokens=max_new_tokens,
                                           do_sample=False, eos_token_id=stop_ids,
                                           pad_token_id=tokenizer.pad_token_id)
                answer = tokenizer.decode(generated[0, inputs["input_ids"].shape[1]:],
                                          skip_special_tokens=True).strip()
                out.append((prompt[-1]["content"], answer))
        finally:
            if was_training:
                model.train()
        return out

    return sample


def _too_short(tokenizer: Any, template: str, rows: list[dict[str, Any]],
               max_length: int) -> None:
    """Every conversation of a split is cut before its answer: say which setting to raise."""
    from core.errors import ValidationError
    from core.training.data import tokenize_chat

    needed = min(len(tokenize_chat(tokenizer, template, row["messages"], 1 << 20)["input_ids"])
                 for row in rows[:50])
    raise ValidationError("max_length", f"max_length {max_length} cuts every conversation "
                          f"before the assistant's answer (the shortest is {needed} tokens, "
                          "most of it the system prompt).",
                          f"Raise max_length to at least {needed}, or shorten the company's "
                          "policies in the Project step.")
