"""The SFT loss on a CPU: logits only where a label is, projected in the autocast precision.

TRL's SFTTrainer computes the loss through its fused LM head, which tiles the vocabulary and
accumulates in float32. On CUDA that accumulation is free (``out_dtype``); on a CPU its
backward casts every tile and the head's weight to float32 and runs both gradient products in
float32, and a profile of our 2-core benchmark step put 45% of the step's time in that head
(the backbone's matmuls run in bf16). Here the model projects only the positions whose next
token carries a label (``logits_to_keep``, so the prompt costs nothing in the head), in the
autocast precision, as transformers' own causal-LM loss does; cross-entropy is taken in
float32. The result is the same mean negative log-likelihood over the labelled tokens (tested
against the model's own full-logits loss), normalised like TRL's: by ``num_items_in_batch``
when the Trainer gives it (gradient accumulation), else by this batch's labelled tokens.
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100  # the label of a token the loss skips (prompts, other roles)


def applies(device: Any, preference: bool) -> bool:
    """Whether a run's loss is this one: SFT off CUDA (preference runs keep TRL's DPO loss,
    and on CUDA TRL's fused head accumulates in float32 for free)."""
    return not preference and device.kind != "cuda"


def label_only_nll(model: Any, inputs: dict[str, Any],
                   num_items_in_batch: Any = None) -> tuple[Any, int, int]:
    """(loss, labelled tokens, tokens whose most likely prediction was right)."""
    import torch

    labels = inputs["labels"]
    targets = labels[:, 1:]
    # positions p whose next token p + 1 is labelled in any row of the batch
    keep = (targets != IGNORE_INDEX).any(dim=0).nonzero().flatten()
    forward = {key: value for key, value in inputs.items() if key != "labels"}
    forward["use_cache"] = False
    logits = model(**forward, logits_to_keep=keep).logits.float()
    chosen = targets[:, keep]
    valid = chosen != IGNORE_INDEX
    labelled = int(valid.sum())
    total = torch.nn.functional.cross_entropy(logits.flatten(0, 1), chosen.flatten(),
                                              ignore_index=IGNORE_INDEX, reduction="sum")
    denominator = num_items_in_batch if num_items_in_batch is not None else labelled
    loss = total / torch.as_tensor(denominator, device=total.device).clamp(min=1)
    with torch.no_grad():
        correct = int(((logits.argmax(dim=-1) == chosen) & valid).sum())
    return loss, labelled, correct


def cpu_loss_trainer(base_class: type) -> type:
    """``base_class`` (an SFTTrainer) with ``label_only_nll`` as its training and eval loss,
    logging ``mean_token_accuracy`` as TRL does."""

    class LabelOnlyLoss(base_class):  # type: ignore[misc, valid-type]
        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            # TRL's own loss for what this one does not do: MoE router loss, DFT, label
            # smoothing, a custom loss function, or callers that want the outputs
            if (return_outputs or "labels" not in inputs or self.aux_loss_enabled
                    or self.args.loss_type != "nll" or self.label_smoother is not None
                    or self.compute_loss_func is not None):
                return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                            num_items_in_batch=num_items_in_batch)
            mode = "train" if self.model.training else "eval"
            loss, labelled, correct = label_only_nll(model, inputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            self._metrics[mode]["mean_token_accuracy"].append(correct / labelled
                                                              if labelled else 0.0)
            return loss

    LabelOnlyLoss.__name__ = f"LabelOnlyLoss{base_class.__name__}"
    return LabelOnlyLoss
