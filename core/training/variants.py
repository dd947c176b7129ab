"""The IPO variants of the Talk Small paper that TRL does not do for us.

- IPO-EMA: an exponential moving average (rate 0.99) of the *policy* weights, updated after
  every optimizer step; it is the model that is saved as final. For LoRA the average is of
  the merged delta B.A per module (averaging A and B apart would not average the update).
  After k steps: ema_k = d^k w_0 + (1 - d) sum_i d^(k-i) w_i (tests check this closed form).
- IPO-checkpoint with LoRA: TRL cannot sync a reference with PEFT, so the trained adapter
  ("default") is copied into the reference adapter ("ref") every N steps. Full fine-tuning
  uses TRL's own ``sync_ref_model`` with mixup alpha 1.0.
The EMA state is saved inside each checkpoint so a resumed run continues the same average.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

EMA_FILE = "talksmall_ema.pt"


def lora_modules(model: Any) -> dict[str, Any]:
    """name -> LoRA layer holding a "default" adapter."""
    out = {}
    for name, module in model.named_modules():
        lora_a = getattr(module, "lora_A", None)
        if lora_a is not None and "default" in lora_a:
            out[name] = module
    return out


def lora_delta(module: Any, adapter: str = "default") -> torch.Tensor:
    """The merged update B.A * scaling this LoRA layer adds to its base weight."""
    a = module.lora_A[adapter].weight.detach().float()
    b = module.lora_B[adapter].weight.detach().float()
    return (b @ a) * float(module.scaling[adapter])


class PolicyEMA(TrainerCallback):
    """Keeps the EMA of the policy (full weights, or LoRA deltas) on the CPU side of memory."""

    def __init__(self, decay: float, lora: bool) -> None:
        self.decay = float(decay)
        self.lora = lora
        self.average: dict[str, torch.Tensor] = {}
        self.updates = 0
        self.resume_from: Path | None = None

    def current(self, model: Any) -> dict[str, torch.Tensor]:
        if self.lora:
            return {name: lora_delta(m) for name, m in lora_modules(model).items()}
        return {name: p.detach().float().clone() for name, p in model.named_parameters()
                if p.requires_grad}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.resume_from is not None and (self.resume_from / EMA_FILE).exists():
            saved = torch.load(self.resume_from / EMA_FILE, map_location="cpu")
            self.average, self.updates = saved["average"], int(saved["updates"])
        elif not self.average:
            self.average = self.current(kwargs["model"])

    @torch.no_grad()
    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        d = self.decay
        for name, value in self.current(kwargs["model"]).items():
            self.average[name].mul_(d).add_(value.to(self.average[name].device), alpha=1 - d)
        self.updates += 1

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            torch.save({"average": self.average, "updates": self.updates}, folder / EMA_FILE)

    @torch.no_grad()
    def apply_to(self, model: Any) -> Any:
        """Put the average into ``model``; for LoRA returns the base with the averaged delta
        merged (the adapters are removed), else the same model with averaged weights."""
        if not self.lora:
            params = dict(model.named_parameters())
            for name, value in self.average.items():
                params[name].copy_(value.to(params[name].dtype))
            return model
        for name, module in lora_modules(model).items():
            weight = module.get_base_layer().weight
            weight.add_(self.average[name].to(weight.dtype))
        return model.unload()  # drops the adapters without merging them


class AdapterRefSync(TrainerCallback):
    """Copies the trained adapter into the reference adapter every ``every`` steps."""

    def __init__(self, every: int) -> None:
        self.every = max(1, int(every))
        self.synced_at: list[int] = []

    @torch.no_grad()
    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.every:
            return
        model = kwargs["model"]
        params = dict(model.named_parameters())
        for name, param in params.items():
            if ".default." in name:
                ref = params.get(name.replace(".default.", ".ref."))
                if ref is not None:
                    ref.copy_(param)
        self.synced_at.append(state.global_step)
