"""GGUF export: refusals, atomicity, metadata, and greedy equality with transformers.

Equality is checked the way DESIGN states it: both runtimes get the same prompt token ids.
An f32 export must reproduce transformers fp32 exactly (llama.cpp runs with an f32 KV cache
there, so the only difference is summation order: logits agree to ~1e-3). f16 and the block
quantizations must match up to the first position where the fp32 top-2 logit gap falls below
a tolerance. DESIGN's 0.1 holds for f16 but not for the block quantizations of this 135M
model: llama.cpp also rounds activations to 8 bits in quantized matmuls, which moves its
logits by ~1-2.5 (q8_0) and ~4-8 (q4_k_m). Measured on 15 prompts x 64 tokens, teacher-forced
along the fp32 path: f16 flipped 1 of 827 positions (gap 0.004); q8_0 34 (largest gap 0.36);
q4_k_m 108 (largest 1.55); the shipped Q4_1 file itself 24 (largest 0.26). Hence the
tolerances below, plus a floor on the share of positions whose top token agrees.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from core.errors import ModelError, ValidationError
from core.export import SUPPORTED_ARCHITECTURES, SUPPORTED_QUANTS, export_gguf, write_float_gguf
from core.export.tokenizer_meta import pre_tokenizer_name

COMPANY = "You are the friendly support assistant of Acme Rentals, a property rental company."
PROMPTS = [  # chosen with every fp32 top-2 gap over the 64 greedy tokens >= MIN_GAP_F32
    [{"role": "system", "content": COMPANY}, {"role": "user", "content": "Hi, can you help me?"}],
    [{"role": "user", "content": "How do plants make food?"}],
    [{"role": "user", "content": "Give me three tips for saving money."}],
]
N_TOKENS = 64
MIN_GAP_F32 = 0.05
TOLERANCE = {"f16": 0.1, "q8_0": 0.5, "q4_k_m": 3.0}  # fp32 top-2 gap below which flips may occur
AGREEMENT_FLOOR = {"f16": 0.99, "q8_0": 0.85, "q4_k_m": 0.7}  # top-1 agreement on the fp32 path
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TRICKY = ["Call 555-1234 in 2024, it costs $4.99!", "naïve café 😀 — “quoted” Ünïcödé",
          "  two spaces\n\n\tand a tab", "<|im_start|>user\nHi<|im_end|>\n", "don't we'll THEY'RE"]
F32_KV = {"type_k": 0, "type_v": 0}  # GGML_TYPE_F32: keep llama.cpp's cache exact for f32 checks


# --- refusals and validation (no model needed) ------------------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_an_unsupported_architecture_is_refused_before_anything_is_written(tmp_path: Path):
    model = tmp_path / "gpt2-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": 2}))
    with pytest.raises(ModelError) as caught:
        export_gguf(model, tmp_path / "out" / "model.gguf", "f16")
    message = str(caught.value)
    assert "GPT2LMHeadModel" in message
    assert all(name in message for name in SUPPORTED_ARCHITECTURES)
    assert caught.value.hint
    assert _files(tmp_path) == ["config.json"]


def test_a_folder_without_config_and_an_unknown_quant_are_clear_errors(tmp_path: Path):
    with pytest.raises(ModelError, match=r"config\.json"):
        export_gguf(tmp_path, tmp_path / "m.gguf")
    with pytest.raises(ValidationError) as caught:
        export_gguf(tmp_path, tmp_path / "m.gguf", "q3_k")
    assert caught.value.field == "quant" and "q4_k_m" in caught.value.hint
    assert SUPPORTED_QUANTS == ("f32", "f16", "q8_0", "q4_k_m")


def test_unsupported_rope_scaling_is_refused(tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1, "hidden_size": 8,
        "intermediate_size": 16, "num_attention_heads": 2, "vocab_size": 10,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
        "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}}))
    with pytest.raises(ModelError, match="dynamic"):
        export_gguf(tmp_path, tmp_path / "out" / "m.gguf")
    assert not (tmp_path / "out").exists()


def test_pre_tokenizers_are_named_only_when_llama_cpp_implements_them():
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
    split = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}
    llama3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"  # noqa: E501

    def regex(pattern: str) -> dict:
        return {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated",
             "invert": False}, split]}

    assert pre_tokenizer_name(byte_level) == "gpt-2"
    assert pre_tokenizer_name({"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, byte_level]}) == "smollm"
    assert pre_tokenizer_name(regex(llama3)) == "llama-bpe"
    assert pre_tokenizer_name(regex(llama3.replace(r"\p{N}{1,3}", r"\p{N}"))) == "qwen2"
    assert pre_tokenizer_name(regex(llama3.replace(r"\p{N}{1,3}", r"\p{N}{1,2}"))) is None
    assert pre_tokenizer_name({**byte_level, "add_prefix_space": True}) is None
    assert pre_tokenizer_name({"type": "Metaspace"}) is None


def test_training_only_generation_markers_are_dropped_from_the_chat_template(tmp_path: Path):
    from core.export.tokenizer_meta import folder_chat_template

    marked = CHATML.replace("{{ m['content'] }}", "{% generation %}{{ m['content'] }}"
                            "{%- endgeneration -%}")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": marked}))
    assert folder_chat_template(tmp_path) == CHATML
    assert folder_chat_template(tmp_path / "missing") is None


def _rope(x, positions, pairs: str, base: float = 10000.0):
    """Rotate each head's vector: pairs (i, i+d/2) as HF does, or (2i, 2i+1) as llama.cpp."""
    import numpy as np

    heads, dim = x.shape
    angles = positions * base ** (-np.arange(0, dim, 2) / dim)
    cos, sin = np.cos(angles), np.sin(angles)
    a, b = (x[:, : dim // 2], x[:, dim // 2:]) if pairs == "halves" else (x[:, 0::2], x[:, 1::2])
    ra, rb = a * cos - b * sin, a * sin + b * cos
    if pairs == "halves":
        return np.concatenate([ra, rb], axis=1)
    return np.stack([ra, rb], axis=2).reshape(heads, dim)


def test_the_row_permutation_keeps_attention_scores_under_llama_cpp_rope():
    """q.k after llama.cpp's rope on permuted weights == after HF's rope on HF weights."""
    import numpy as np

    from core.export.tensors import rotary_pairs_layout

    rng = np.random.default_rng(0)
    n_head, n_kv, dim, hidden = 4, 2, 8, 16
    wq, wk = rng.normal(size=(n_head * dim, hidden)), rng.normal(size=(n_kv * dim, hidden))
    x1, x2 = rng.normal(size=hidden), rng.normal(size=hidden)

    def scores(wq, wk, pairs):
        q = _rope((wq @ x1).reshape(n_head, dim), 7.0, pairs)
        k = _rope((wk @ x2).reshape(n_kv, dim), 3.0, pairs)
        return np.einsum("hd,hd->h", q, np.repeat(k, n_head // n_kv, axis=0))

    hf = scores(wq, wk, "halves")
    ours = scores(rotary_pairs_layout(wq, n_head), rotary_pairs_layout(wk, n_kv), "pairs")
    np.testing.assert_allclose(ours, hf, rtol=1e-10)
    assert not np.allclose(scores(wq, wk, "pairs"), hf)  # without it the scores change


def test_llama3_rope_factors_match_transformers():
    import torch
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    from core.export.hparams import ModelShape
    from core.export.tensors import llama3_rope_factors

    rope = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    config = LlamaConfig(hidden_size=512, num_attention_heads=16, max_position_embeddings=131072,
                         rope_parameters={**rope, "rope_theta": 3906.25})
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, torch.device("cpu"))
    plain = 1.0 / 3906.25 ** (torch.arange(0, 32, 2, dtype=torch.float64) / 32)
    shape = ModelShape("LlamaForCausalLM", "llama", 4, 512, 4096, 16, 8, 32, 128256, 1024,
                       1e-5, 3906.25, rope)
    expected = (plain / scaled.double()).numpy()
    assert expected.max() > 1.0  # the scaling is really exercised
    assert llama3_rope_factors(shape) == pytest.approx(expected, rel=1e-5)


# --- a tiny real model, no downloads -------------------------------------------------------

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TEXT = ["The tenant pays the rent on the first day of each month.",
        "Owners can ask for a viewing; prospects book one online.",
        "Call 555-0100 or write to help@acme.example for repairs.", *TRICKY]


def _tiny_folder(folder: Path, kind: str, tokenizer_from: Path | None = None, **config):
    """A random-initialised Qwen2/Llama model saved by transformers, with a real tokenizer:
    the embedded one if given, else a byte-level BPE trained here on a few sentences."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    if tokenizer_from is not None:
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            shutil.copy(tokenizer_from / name, folder / name)
        vocab = 49152
    else:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.train_from_iterator(TEXT * 10, trainers.BpeTrainer(
            vocab_size=300, special_tokens=SPECIALS, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "tokenizer_config.json").write_text(json.dumps({
            "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
            "unk_token": "<|endoftext|>", "chat_template": CHATML}))
        vocab = 320  # > the tokenizer's 300: the export pads with unused tokens
    torch.manual_seed(0)
    settings = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=512, initializer_range=0.5, bos_token_id=1,
                    eos_token_id=2, **config)
    made = (LlamaConfig if kind == "llama" else Qwen2Config)(**settings)
    made.architectures = ["LlamaForCausalLM" if kind == "llama" else "Qwen2ForCausalLM"]
    model = AutoModelForCausalLM.from_config(made, dtype=torch.float32).eval()
    model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llama")
    _tiny_folder(folder, "llama", tie_word_embeddings=True)
    return folder


def test_tiny_export_has_the_metadata_llama_cpp_needs(tiny_llama: Path, tmp_path: Path):
    import gguf
    from llama_cpp import Llama
    from tokenizers import Tokenizer

    out = export_gguf(tiny_llama, tmp_path / "tiny.gguf", "f16")
    reader = gguf.GGUFReader(out)
    field = {key: reader.fields[key].contents() for key in reader.fields
             if key not in ("tokenizer.ggml.merges",)}
    assert field["general.architecture"] == "llama"
    assert (field["llama.block_count"], field["llama.embedding_length"]) == (2, 64)
    assert (field["llama.attention.head_count"], field["llama.attention.head_count_kv"]) == (4, 2)
    assert field["llama.feed_forward_length"] == 128 and field["llama.context_length"] == 512
    assert field["llama.rope.dimension_count"] == 16 and field["llama.vocab_size"] == 320
    assert field["general.file_type"] == gguf.LlamaFileType.MOSTLY_F16
    assert field["tokenizer.ggml.model"] == "gpt2" and field["tokenizer.ggml.pre"] == "gpt-2"
    assert field["tokenizer.ggml.add_bos_token"] is False
    assert (field["tokenizer.ggml.bos_token_id"], field["tokenizer.ggml.eos_token_id"]) == (1, 2)
    tokens, types = field["tokenizer.ggml.tokens"], field["tokenizer.ggml.token_type"]
    assert len(tokens) == 320 and tokens[:3] == SPECIALS and tokens[-1] == "[PAD319]"
    assert types[:3] == [gguf.TokenType.CONTROL] * 3 and types[-1] == gguf.TokenType.UNUSED
    assert field["tokenizer.chat_template"] == CHATML
    kinds = {t.name: t.tensor_type.name for t in reader.tensors}
    assert "output.weight" not in kinds  # tied: llama.cpp reuses token_embd
    assert kinds["blk.0.attn_q.weight"] == "F16" and kinds["blk.0.attn_norm.weight"] == "F32"
    assert len(kinds) == 2 + 2 * 9

    hf = Tokenizer.from_file(str(tiny_llama / "tokenizer.json"))
    llm = Llama(model_path=str(out), vocab_only=True, verbose=False)
    try:
        for text in TRICKY:
            assert llm.tokenize(text.encode(), add_bos=False, special=True) == \
                hf.encode(text).ids, text
    finally:
        llm.close()


class Interrupt(Exception):
    pass


@pytest.mark.parametrize(("quant", "stop_at"), [("f16", "weights"), ("q8_0", "Quantizing")])
def test_an_interrupted_export_leaves_no_file(tiny_llama: Path, tmp_path: Path, quant: str,
                                              stop_at: str):
    target = tmp_path / "exports" / "model.gguf"
    target.parent.mkdir()
    target.write_bytes(b"the previous export")
    seen: list[float] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if stop_at in message and fraction > 0.3:
            raise Interrupt()

    with pytest.raises(Interrupt):
        export_gguf(tiny_llama, target, quant, progress=progress)
    assert _files(tmp_path / "exports") == ["model.gguf"]
    assert target.read_bytes() == b"the previous export"
    assert seen == sorted(seen)

    export_gguf(tiny_llama, target, quant)  # the same call, uninterrupted, replaces it
    assert target.read_bytes()[:4] == b"GGUF" and _files(tmp_path / "exports") == ["model.gguf"]

    with pytest.raises(Interrupt):  # folders the export created are removed again
        export_gguf(tiny_llama, tmp_path / "new" / "deeper" / "m.gguf", quant, progress=progress)
    assert not (tmp_path / "new").exists()


def test_export_job_reports_progress_and_honours_stop(tiny_llama: Path, tmp_path: Path):
    from core.jobs import registry
    from core.jobs.context import JobCancelled, JobContext
    from core.jobs.events import EventWriter, read_events

    job = registry.resolve("export-gguf")
    run = tmp_path / "run"
    run.mkdir()
    spec = {"hf_dir": str(tiny_llama), "out": str(tmp_path / "out" / "m.gguf"), "quant": "q8_0"}
    with EventWriter(run, io.StringIO()) as writer:
        output = job(spec, JobContext(run, writer))
    assert output == spec["out"] and Path(output).read_bytes()[:4] == b"GGUF"
    events = read_events(run)
    steps = [e["step"] for e in events if e["type"] == "progress"]
    assert steps == sorted(set(steps)) and steps[-1] == 100
    messages = [e["message"] for e in events if e["type"] == "log"]
    assert any("Quantizing to q8_0" in m for m in messages)

    (run / "STOP").touch()
    spec["out"] = str(tmp_path / "stopped" / "m.gguf")
    with EventWriter(run, io.StringIO()) as writer, pytest.raises(JobCancelled):
        job(spec, JobContext(run, writer))
    assert not (tmp_path / "stopped").exists() or _files(tmp_path / "stopped") == []
    with EventWriter(run, io.StringIO()) as writer, pytest.raises(ValidationError):
        job({"out": "x.gguf"}, JobContext(run, writer))


# --- slow: real models through both runtimes ------------------------------------------------


def _llama(path: Path, **options):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=512, n_threads=2, seed=0, verbose=False,
                 **options)


def _llama_greedy(llm, ids: list[int], n: int) -> list[int]:
    llm.reset()
    tokens: list[int] = []
    for token in llm.generate(ids, temp=0.0, repeat_penalty=1.0):
        tokens.append(token)
        if len(tokens) == n or token == llm.token_eos():
            break
    return tokens


def _hf_reference(model, ids: list[int], n: int) -> dict:
    """Greedy tokens, then one fp32 forward over prompt + answer: logits, gaps, argmax."""
    import torch

    with torch.no_grad():
        sequence = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                                  attention_mask=torch.ones(1, len(ids), dtype=torch.long))[0]
        logits = model(sequence[None]).logits[0, len(ids) - 1:-1].numpy()
    top2 = torch.topk(torch.from_numpy(logits), 2).values
    return {"ids": ids, "tokens": sequence[len(ids):].tolist(), "logits": logits,
            "gaps": (top2[:, 0] - top2[:, 1]).tolist()}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_a_tiny_model_of_each_family_matches_transformers(embedded_conversion, tmp_path: Path,
                                                          kind: str):
    """Llama: untied output, attention biases, GQA, llama3 RoPE scaling (the "From scratch"
    preset's kind). Qwen2: tied embeddings, q/k/v biases, NeoX-style rope (no permutation)."""
    import numpy as np
    from transformers import AutoTokenizer

    options = {"tie_word_embeddings": True} if kind == "qwen2" else {
        "tie_word_embeddings": False, "attention_bias": True,
        "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                            "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                            "original_max_position_embeddings": 128}}
    folder = tmp_path / kind
    folder.mkdir()
    model = _tiny_folder(folder, kind, tokenizer_from=embedded_conversion.path, **options)
    out = export_gguf(folder, tmp_path / f"{kind}.gguf", "f32")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = list(tokenizer.apply_chat_template(PROMPTS[0], add_generation_prompt=True,
                                             tokenize=True, return_dict=False))
    reference = _hf_reference(model, ids, 16)
    llm = _llama(out, logits_all=True, **F32_KV)
    try:
        llm.eval(ids + reference["tokens"])
        ours = np.array(llm.scores[len(ids) - 1: len(ids) - 1 + len(reference["tokens"])])
        got = _llama_greedy(llm, ids, 16)
    finally:
        llm.close()
    assert min(reference["gaps"]) > 0.01, "a near tie: change the seed or the prompt"
    np.testing.assert_allclose(ours, reference["logits"], atol=0.01)
    assert got == reference["tokens"]


@pytest.fixture(scope="module")
def embedded(embedded_conversion, tmp_path_factory: pytest.TempPathFactory):
    """The converted embedded model in transformers, its fp32 reference answers, and a
    cache of exports (the f32 one with the tokenizer built from the folder, the others with
    it copied from the shipped GGUF, the route the app uses)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models import embedded_gguf_path

    folder = embedded_conversion.path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    references = []
    for messages in PROMPTS:
        ids = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                 tokenize=True, return_dict=False))
        references.append(_hf_reference(model, ids, N_TOKENS))
    exports_dir = tmp_path_factory.mktemp("embedded-exports")
    exports: dict[str, Path] = {}

    def export(quant: str) -> Path:
        if quant not in exports:
            source = None if quant == "f32" else embedded_gguf_path()
            exports[quant] = export_gguf(folder, exports_dir / f"smollm2-{quant}.gguf", quant,
                                         source_gguf=source)
        return exports[quant]

    yield {"folder": folder, "tokenizer": tokenizer, "model": model,
           "references": references, "export": export, "dir": exports_dir}
    shutil.rmtree(exports_dir, ignore_errors=True)


@pytest.mark.slow
def test_f32_export_gives_transformers_greedy_tokens_exactly(embedded):
    llm = _llama(embedded["export"]("f32"), **F32_KV)
    try:
        for reference in embedded["references"]:
            assert min(reference["gaps"]) >= MIN_GAP_F32, "a near tie: choose another prompt"
            got = _llama_greedy(llm, reference["ids"], N_TOKENS)
            assert got == reference["tokens"], (
                f"f32 export differs: transformers {reference['tokens']} llama.cpp {got}")
    finally:
        llm.close()
    assert sum(len(r["tokens"]) for r in embedded["references"]) >= 2 * N_TOKENS


def check_against_transformers(path: Path, references: list[dict], quant: str) -> str:
    """Greedy tokens of the GGUF at ``path`` against transformers' fp32 ``references``.

    Tokens must be identical up to the first position where fp32's top-2 gap is below the
    type's tolerance (only there may rounding flip a choice), and along the fp32 path every
    clear choice must agree. Returns a one-line summary for the log.
    """
    import numpy as np

    tolerance, checked, matched, agree, positions = TOLERANCE[quant], 0, 0, 0, 0
    llm = _llama(path, logits_all=True)
    try:
        for reference in references:
            expected, gaps, ids = reference["tokens"], reference["gaps"], reference["ids"]
            got = _llama_greedy(llm, ids, len(expected))
            safe = next((i for i, gap in enumerate(gaps) if gap < tolerance), len(expected))
            assert got[:safe] == expected[:safe], (
                f"{quant} flipped before the first fp32 gap < {tolerance} (position {safe}): "
                f"{got} vs {expected}; gaps {[round(g, 2) for g in gaps]}")
            checked += safe
            pairs = zip(got, expected, strict=False)
            matched += next((i for i, (a, b) in enumerate(pairs) if a != b),
                            min(len(got), len(expected)))
            llm.reset()
            llm.eval(ids + expected)  # teacher-forced along the fp32 path
            top = np.array(llm.scores[len(ids) - 1: len(ids) - 1 + len(expected)]).argmax(1)
            same = top == np.array(expected)
            assert same[np.array(gaps) >= tolerance].all(), (
                f"{quant}: a clear choice flipped (fp32 gaps where it did: "
                f"{[round(g, 2) for g, ok in zip(gaps, same, strict=False) if not ok]})")
            agree, positions = agree + int(same.sum()), positions + len(expected)
    finally:
        llm.close()
    assert agree / positions >= AGREEMENT_FLOOR[quant]
    return (f"[{quant}] greedy tokens matched before the first difference: {matched} "
            f"(of which {checked} required by the gap rule); top-1 agreement on the fp32 path "
            f"{agree}/{positions}")


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["f16", "q8_0", "q4_k_m"])
def test_quantized_exports_match_up_to_the_tolerance(embedded, quant: str):
    print("\n" + check_against_transformers(embedded["export"](quant), embedded["references"],
                                            quant))


@pytest.mark.slow
def test_both_tokenizer_routes_tokenize_like_transformers(embedded):
    """The folder-built tokenizer (f32) and the copied one (f16) against the HF tokenizer."""
    from core.export.gguf_fields import read_fields
    from core.models import embedded_gguf_path

    tokenizer = embedded["tokenizer"]
    texts = TRICKY + [tokenizer.apply_chat_template(m, add_generation_prompt=True,
                                                    tokenize=False) for m in PROMPTS]
    for quant in ("f32", "f16"):
        llm = _llama(embedded["export"](quant), vocab_only=True)
        try:
            for text in texts:
                assert llm.tokenize(text.encode(), add_bos=False, special=True) == \
                    tokenizer.encode(text, add_special_tokens=False), (quant, text)
        finally:
            llm.close()
    built = read_fields(embedded["export"]("f32"), "tokenizer.")
    shipped = read_fields(embedded_gguf_path(), "tokenizer.")
    for key in ("tokens", "token_type", "merges", "bos_token_id", "eos_token_id",
                "padding_token_id", "unknown_token_id", "add_bos_token"):
        assert built[f"tokenizer.ggml.{key}"] == shipped[f"tokenizer.ggml.{key}"], key
    assert built["tokenizer.chat_template"] == shipped["tokenizer.chat_template"]


@pytest.mark.slow
def test_f32_weights_equal_the_shipped_weights_dequantized(embedded):
    import gguf
    import numpy as np

    from core.models import embedded_gguf_path

    ours = {t.name: t for t in gguf.GGUFReader(embedded["export"]("f32")).tensors}
    shipped = {t.name: t for t in gguf.GGUFReader(embedded_gguf_path()).tensors}
    assert set(ours) == set(shipped) and "output.weight" not in ours
    for name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
                 "blk.29.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight"):
        expected = gguf.quants.dequantize(shipped[name].data, shipped[name].tensor_type)
        np.testing.assert_array_equal(np.asarray(ours[name].data),
                                      expected.reshape(ours[name].data.shape), err_msg=name)


@pytest.mark.slow
def test_a_missing_rotary_permutation_is_caught(embedded):
    """Negative control: the same export with the q/k permutation skipped must fail the
    greedy comparison on every prompt (so the checks above can fail)."""
    broken = embedded["dir"] / "broken-f16.gguf"
    write_float_gguf(embedded["folder"], broken, "f16", undo_rotary_permutation=False)
    llm = _llama(broken)
    try:
        differing = sum(_llama_greedy(llm, r["ids"], 8) != r["tokens"][:8]
                        for r in embedded["references"])
    finally:
        llm.close()
        broken.unlink()
    assert differing == len(PROMPTS)
