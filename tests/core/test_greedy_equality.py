"""Greedy equality (DESIGN): transformers on the converted cache vs llama.cpp on the GGUF.

Data generation and chat run the shipped Q4_1 GGUF through llama.cpp; training runs its
dequantized fp32 copy through transformers. If the two disagree, training starts from a
different model than the one the operator saw. Both sides get the same prompt token ids
(so chat-template rendering cannot hide a difference) and must pick the same first 8 greedy
tokens on 3 chat prompts.

The two are not bit-identical: llama.cpp multiplies Q4_1 weights with activations rounded to
8 bits, which moves logits by ~0.1-0.3 here, enough to flip a near tie (a flip at an fp32
top-2 gap of 0.145 was seen). So the prompts were chosen with every top-2 gap in the first 8
tokens >= MIN_GAP, and the test checks that too: a failure then means a real conversion bug
(wrong rotary permutation, lost tied embeddings, wrong tokenizer), never rounding noise.
"""

from __future__ import annotations

import pytest

N_TOKENS = 8
MIN_GAP = 0.4
COMPANY = "You are the friendly support assistant of Acme Rentals, a property rental company."
PROMPTS = [
    [{"role": "system", "content": COMPANY}, {"role": "user", "content": "Hi, can you help me?"}],
    [{"role": "user", "content": "What is the largest planet in our solar system?"}],
    [{"role": "user", "content": "Who wrote Romeo and Juliet?"}],
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hf_side(embedded_conversion):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(embedded_conversion.path)
    model = AutoModelForCausalLM.from_pretrained(embedded_conversion.path,
                                                 dtype=torch.float32).eval()
    return tokenizer, model


@pytest.fixture(scope="module")
def llama():
    from llama_cpp import Llama

    from core.models import embedded_gguf_path

    model = Llama(model_path=str(embedded_gguf_path()), n_ctx=256, n_threads=2, seed=0,
                  verbose=False)
    yield model
    model.close()


def _prompt_ids(tokenizer, messages) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                              tokenize=True, return_dict=False))


def _hf_greedy(model, ids: list[int]) -> tuple[list[int], list[float]]:
    """Greedy tokens and each step's fp32 top-2 logit gap."""
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=N_TOKENS, do_sample=False,
                             output_scores=True, return_dict_in_generate=True)
    gaps = []
    for scores in out.scores:
        top = torch.topk(scores[0].float(), 2).values
        gaps.append(float(top[0] - top[1]))
    return out.sequences[0, len(ids):].tolist(), gaps


def _llama_greedy(llama, ids: list[int]) -> list[int]:
    llama.reset()
    tokens: list[int] = []
    for token in llama.generate(ids, temp=0.0, repeat_penalty=1.0):
        tokens.append(token)
        if len(tokens) == N_TOKENS or token == llama.token_eos():
            break
    return tokens


def test_both_runtimes_tokenize_the_chat_prompts_alike(hf_side, llama) -> None:
    tokenizer, _ = hf_side
    for messages in PROMPTS:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                             tokenize=False)
        hf_ids = _prompt_ids(tokenizer, messages)
        llama_ids = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        assert llama_ids == hf_ids, f"tokenizers differ on {messages[-1]['content']!r}"


def test_first_greedy_tokens_match(hf_side, llama) -> None:
    tokenizer, model = hf_side
    matched = 0
    for messages in PROMPTS:
        ids = _prompt_ids(tokenizer, messages)
        hf_tokens, gaps = _hf_greedy(model, ids)
        question = messages[-1]["content"]
        assert len(hf_tokens) == N_TOKENS, f"transformers stopped early on {question!r}"
        assert min(gaps) >= MIN_GAP, (
            f"prompt {question!r} has a near tie (fp32 top-2 gaps {gaps}); pick another prompt")
        llama_tokens = _llama_greedy(llama, ids)
        print(f"\n{question!r}: transformers {hf_tokens} llama.cpp {llama_tokens}")
        assert llama_tokens == hf_tokens, (
            f"greedy tokens differ on {question!r}: transformers {hf_tokens} "
            f"({tokenizer.decode(hf_tokens)!r}) vs llama.cpp {llama_tokens} "
            f"({tokenizer.decode(llama_tokens)!r}); fp32 top-2 gaps {[round(g, 2) for g in gaps]}")
        matched += len(hf_tokens)
    assert matched == N_TOKENS * len(PROMPTS)


def test_the_comparison_catches_a_broken_conversion(hf_side, llama) -> None:
    """Negative control: a converter that forgets to undo llama.cpp's rotary row order for the
    query/key weights (the classic bug) must be caught on these prompts."""
    import copy

    import torch

    _, model = hf_side
    tokenizer = hf_side[0]
    broken = copy.deepcopy(model)
    config = broken.config
    head_dim = config.hidden_size // config.num_attention_heads
    with torch.no_grad():
        for layer in broken.model.layers:
            for proj, heads in ((layer.self_attn.q_proj, config.num_attention_heads),
                                (layer.self_attn.k_proj, config.num_key_value_heads)):
                w = proj.weight
                proj.weight.copy_(w.reshape(heads, 2, head_dim // 2, -1).transpose(1, 2)
                                  .reshape(w.shape).clone())
    differing = 0
    for messages in PROMPTS:
        ids = _prompt_ids(tokenizer, messages)
        broken_tokens, _ = _hf_greedy(broken, ids)
        differing += broken_tokens != _llama_greedy(llama, ids)
    assert differing == len(PROMPTS)
