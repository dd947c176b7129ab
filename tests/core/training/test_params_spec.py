"""Presets, the hyperparameter schema and spec validation: every error names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ValidationError
from core.training import params as P
from core.training.presets import METHODS, get_preset, load_presets, resolve_params
from core.training.spec import build_spec, parse_spec


def test_every_preset_loads_and_resolves_for_its_methods() -> None:
    presets = load_presets()
    assert {"talk-small", "tone-lora", "full", "quick-cpu", "from-scratch"} <= set(presets)
    assert get_preset("Talk Small (paper)").slug == "talk-small"
    for preset in presets.values():
        for method in preset.methods:
            values = resolve_params(method, preset)
            assert set(values) == set(P.PARAM_BY_NAME)


def test_paper_and_method_values() -> None:
    sft = resolve_params("sft", "talk-small")
    assert (sft["batch_size"], sft["learning_rate"], sft["weight_decay"]) == (25, 5e-4, 0.1)
    assert sft["lr_start_ratio"] * sft["learning_rate"] == pytest.approx(1e-5)
    ipo = resolve_params("ipo", "talk-small")
    assert (ipo["batch_size"], ipo["learning_rate"], ipo["beta"]) == (20, 1e-5, 0.5)
    dpo = resolve_params("dpo", "talk-small")
    assert (dpo["beta"], dpo["learning_rate"]) == (0.1, 5e-6)
    tone = resolve_params("sft-lora", "tone-lora")
    assert tone["lora"] and tone["lora_r"] == tone["lora_alpha"] == 32
    assert tone["batch_size"] * tone["grad_accum"] == 32
    assert resolve_params("sft", "quick-cpu", {"learning_rate": "2e-4"})["learning_rate"] == 2e-4


@pytest.mark.parametrize(("name", "value"), [
    ("batch_size", "eight"), ("batch_size", 0), ("batch_size", 2.5), ("learning_rate", -1),
    ("scheduler", "sawtooth"), ("padding_free", "maybe"), ("eval_fraction", 0.05),
    ("learning_rate", float("nan")), ("no_such_setting", 1),
])
def test_validate_value_names_the_field(name: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        P.validate_value(name, value)
    assert info.value.field == name
    assert name in info.value.message


def test_validate_value_coerces_typed_text() -> None:
    assert P.validate_value("batch_size", "4") == 4
    assert P.validate_value("padding_free", "off") is False
    assert P.validate_value("scheduler", " Cosine ") == "cosine"


def test_schema_is_renderable() -> None:
    rows = P.schema()
    assert len(rows) == len(P.PARAMS)
    for row in rows:
        assert row["help"] and row["type"] in ("int", "float", "bool", "choice")
        if row["type"] == "choice":
            assert row["default"] in row["choices"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"method": "ppo"}, "method"),
    ({"preset": "nope"}, "preset"),
    ({"typo_field": 1}, "typo_field"),
    ({"launcher": "accelerate"}, "accelerate_config"),
    ({"launcher": "slurm"}, "launcher"),
    ({"device": "tpu"}, "device"),
    ({"resume": "yes"}, "resume"),
    ({"params": {"batch_size": -3}}, "batch_size"),
    ({"method": "sft-lora", "params": {"lora": False}}, "lora"),
    ({"base": "scratch", "method": "ipo"}, "base"),
    ({"params": {"quantize": "4bit"}}, "quantize"),
])
def test_spec_errors_name_the_field(tmp_path: Path, changes: dict, field: str) -> None:
    spec = build_spec(tmp_path, "sft", preset="quick-cpu")
    spec.update(changes)
    if "params" in changes:
        spec["params"] = {**build_spec(tmp_path, "sft")["params"], **changes["params"]}
    with pytest.raises(ValidationError) as info:
        parse_spec(spec)
    assert info.value.field == field


def test_preset_refuses_a_method_it_does_not_support(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        build_spec(tmp_path, "ipo", preset="from-scratch")
    assert info.value.field == "method"


def test_build_spec_round_trips(tmp_path: Path) -> None:
    spec = build_spec(tmp_path, "dpo", preset="full", max_steps=7, params={"beta": 0.2})
    parsed = parse_spec(spec)
    assert parsed.params["max_steps"] == 7 and parsed.params["beta"] == 0.2
    assert parsed.overrides == {"beta": 0.2, "max_steps": 7}
    assert parse_spec(parsed.to_dict()).to_dict() == spec
    assert set(METHODS) >= {parsed.method}
    assert build_spec(tmp_path, "sft", preset="from-scratch")["base"] == "scratch"
