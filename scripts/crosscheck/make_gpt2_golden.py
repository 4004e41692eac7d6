#!/usr/bin/env python3
"""Golden files for Mechanist's GPT-2 import, forward pass and training step, from an independent
implementation: plain PyTorch (1.13), written from Hugging Face's GPT2LMHeadModel definition.

`transformers` and `safetensors` are not installable here, so this script
  * builds tiny random GPT-2s in the exact GPT2LMHeadModel layout (Conv1D weights [in, out], fused
    c_attn Q|K|V, tied lm_head absent, plus the attn.bias / attn.masked_bias buffers old checkpoints
    carry and loaders must skip),
  * writes config.json (Hugging Face keys) and model.safetensors by hand (8-byte little-endian header
    length, JSON header padded with spaces to 8 bytes, raw little-endian data),
  * runs HF's forward pass in float64 (the reference) and one AdamW run of two steps,
  * writes expected.json beside them.

Run from the repository root:  /usr/bin/python3 scripts/crosscheck/make_gpt2_golden.py
Outputs tests/fixtures/gpt2-tiny/{standard,crfm-f16}/. Never run by tests or CI; the fixtures are committed.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "gpt2-tiny")

VOCAB, N_POS, N_EMBD, N_LAYER, N_HEAD = 64, 32, 24, 2, 4
N_INNER = 4 * N_EMBD  # config says n_inner: null, as GPT-2's own configs do
EPS = 1e-5


# ---------------------------------------------------------------- weights in GPT2LMHeadModel layout

def make_weights(seed):
    """Random weights scaled so attention is far from uniform and logits spread over several units."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0, mean=0.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean)

    w = {}
    d, m = N_EMBD, N_INNER
    w["transformer.wte.weight"] = randn(VOCAB, d, std=0.5)
    w["transformer.wpe.weight"] = randn(N_POS, d, std=0.3)
    for i in range(N_LAYER):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = randn(d, std=0.2, mean=1.0)
        w[p + "ln_1.bias"] = randn(d, std=0.1)
        w[p + "attn.c_attn.weight"] = randn(d, 3 * d, std=1.0 / math.sqrt(d))  # Conv1D: [in, out]
        w[p + "attn.c_attn.bias"] = randn(3 * d, std=0.1)
        w[p + "attn.c_proj.weight"] = randn(d, d, std=1.0 / math.sqrt(d))
        w[p + "attn.c_proj.bias"] = randn(d, std=0.1)
        w[p + "ln_2.weight"] = randn(d, std=0.2, mean=1.0)
        w[p + "ln_2.bias"] = randn(d, std=0.1)
        w[p + "mlp.c_fc.weight"] = randn(d, m, std=1.0 / math.sqrt(d))
        w[p + "mlp.c_fc.bias"] = randn(m, std=0.1)
        w[p + "mlp.c_proj.weight"] = randn(m, d, std=1.0 / math.sqrt(m))
        w[p + "mlp.c_proj.bias"] = randn(d, std=0.1)
    w["transformer.ln_f.weight"] = randn(d, std=0.2, mean=1.0)
    w["transformer.ln_f.bias"] = randn(d, std=0.1)
    return w


# ---------------------------------------------------------------- Hugging Face GPT-2 forward, plain torch

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(w, tokens, scale_by_layer, cache=None):
    """GPT2LMHeadModel.forward for one batch [b, t] of token ids; returns logits [b, t, vocab]."""
    b, t = tokens.shape
    d, h = N_EMBD, N_HEAD
    dh = d // h
    x = w["transformer.wte.weight"][tokens] + w["transformer.wpe.weight"][torch.arange(t)][None]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(N_LAYER):
        p = f"transformer.h.{i}."
        a = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], EPS)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]          # Conv1D: x W + b
        q, k, v = qkv.split(d, dim=2)
        q, k, v = (z.view(b, t, h, dh).permute(0, 2, 1, 3) for z in (q, k, v))     # head-major split
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if scale_by_layer:
            scores = scores / float(i + 1)
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
        pattern = torch.softmax(scores, dim=-1)
        z = (pattern @ v).permute(0, 2, 1, 3).reshape(b, t, d)
        x = x + (z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        a = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], EPS)
        post = gelu_new(a @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        if cache is not None:
            cache[f"blocks.{i}.attn.hook_pattern"] = pattern
            cache[f"blocks.{i}.mlp.hook_post"] = post
        x = x + (post @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (d,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], EPS)
    return x @ w["transformer.wte.weight"].T                                       # tied lm_head


# ---------------------------------------------------------------- safetensors by hand

DTYPES = {np.float32: "F32", np.float16: "F16", np.bool_: "BOOL"}


def write_safetensors(path, tensors):
    """tensors: list of (name, numpy array). Writes the header in the given order, data contiguous."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors:
        data = np.asarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()  # C order; 0-d stays shape []
        header[name] = {"dtype": DTYPES[arr.dtype.type], "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def config_json(scale_by_layer):
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "embd_pdrop": 0.1, "resid_pdrop": 0.1,
        "bos_token_id": VOCAB - 1, "eos_token_id": VOCAB - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": EPS,
        "model_type": "gpt2",
        "n_ctx": N_POS, "n_embd": N_EMBD, "n_head": N_HEAD, "n_inner": None, "n_layer": N_LAYER, "n_positions": N_POS,
        "reorder_and_upcast_attn": False,
        "scale_attn_by_inverse_layer_idx": scale_by_layer,
        "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": "4.26.0",
        "use_cache": True,
        "vocab_size": VOCAB,
    }


# ---------------------------------------------------------------- expected values

def rounded(x):
    """float64 tensor → nested lists with 9 significant digits (ample for float32 comparisons)."""
    a = x.detach().numpy()
    return np.vectorize(lambda v: float(f"{v:.9g}"), otypes=[np.float64])(a).tolist() if a.size else []


def sequences():
    g = torch.Generator().manual_seed(7)
    return [torch.randint(0, VOCAB, (n,), generator=g) for n in (1, 7, N_POS)]


def forward_expectations(w, scale_by_layer):
    out = {"sequences": [], "logits": [], "loss_per_position": [], "mean_loss": []}
    for seq in sequences():
        logits = forward(w, seq[None], scale_by_layer)[0]
        out["sequences"].append(seq.tolist())
        out["logits"].append(rounded(logits))
        losses = F.cross_entropy(logits[:-1], seq[1:], reduction="none") if len(seq) > 1 else torch.zeros(0, dtype=torch.float64)
        out["loss_per_position"].append(rounded(losses))
        out["mean_loss"].append(float(losses.mean()) if len(losses) else None)
    seq = sequences()[1]
    cache = {}
    forward(w, seq[None], scale_by_layer, cache)
    post = cache["blocks.0.mlp.hook_post"][0]
    out["hooks"] = {
        "sequence": 1,
        "blocks.0.mlp.hook_post.mean": float(post.mean()),
        "blocks.0.mlp.hook_post.row_last": rounded(post[-1]),
        "blocks.1.attn.hook_pattern": rounded(cache["blocks.1.attn.hook_pattern"][0]),  # [head, query, key]
    }
    return out


def no_decay(name):
    return name.endswith(".bias") or ".ln_" in name


def projections(n):
    """Two fixed ±1 sign vectors the C# test recomputes (bit 7 of a multiplicative hash of the index)."""
    return [[1.0 if ((i * 2654435761 + r * 40503) >> 7) & 1 else -1.0 for i in range(n)] for r in range(2)]


def training_expectations(w, lr=1e-3, wd=0.01, clip=1.0, steps=2):
    """Two AdamW steps (PyTorch defaults: betas 0.9/0.999, eps 1e-8; decay only on matrices and embeddings,
    as Mechanist and the usual GPT-2 recipes do) with global-norm clipping, on fixed windows."""
    g = torch.Generator().manual_seed(11)
    batch, seq = 2, 16
    windows = [torch.randint(0, VOCAB, (batch, seq + 1), generator=g) for _ in range(steps)]
    params = {k: v.clone().requires_grad_(True) for k, v in w.items()}
    decay = [p for k, p in params.items() if not no_decay(k)]
    plain = [p for k, p in params.items() if no_decay(k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": plain, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    out = {"lr": lr, "weight_decay": wd, "clip_norm": clip, "batch": batch, "seq": seq,
           "windows": [x.flatten().tolist() for x in windows], "losses": [], "grad_norms": []}
    first_grads = None
    for step in range(steps):
        opt.zero_grad()
        logits = forward(params, windows[step][:, :-1], False)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), windows[step][:, 1:].reshape(-1))
        loss.backward()
        if first_grads is None:
            first_grads = {k: p.grad.detach().clone() for k, p in params.items()}
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), clip)
        opt.step()
        out["losses"].append(float(loss))
        out["grad_norms"].append(float(norm))

    def summary(t):
        flat = t.flatten()
        s = {"l2": float(flat.norm()), "proj": [float((flat * torch.tensor(v, dtype=torch.float64)).sum()) for v in projections(flat.numel())]}
        return s

    out["gradients"] = {k: summary(v) for k, v in first_grads.items()}
    small = ["transformer.ln_f.weight", "transformer.h.1.attn.c_attn.bias", "transformer.h.0.ln_1.bias"]
    out["gradients_full"] = {k: rounded(first_grads[k]) for k in small}
    # The updates (after − before, ~lr per entry) rather than the parameters, so the check is not diluted by |w|.
    # The key bias gets a zero gradient in exact arithmetic (q·b_k is the same for every key, and softmax ignores
    # a constant shift), so its Adam update is rounding noise amplified to ±lr: zeroed here and in the test.
    update = {k: p.detach() - w[k] for k, p in params.items()}
    for k in update:
        if k.endswith("attn.c_attn.bias"):
            update[k][N_EMBD:2 * N_EMBD] = 0
            assert first_grads[k][N_EMBD:2 * N_EMBD].abs().max() < 1e-12
    out["updates"] = {k: summary(v) for k, v in update.items()}
    out["updates_full"] = {k: rounded(update[k]) for k in small}
    return out


# ---------------------------------------------------------------- fixtures

def buffers(dtype_mask, dtype_scalar):
    tril = np.tril(np.ones((N_POS, N_POS))).reshape(1, 1, N_POS, N_POS).astype(dtype_mask)
    return tril, np.array(-1e4, dtype=dtype_scalar)


def write_fixture(folder, seed, scale_by_layer, store, prefix, buffer_types, with_training):
    os.makedirs(folder, exist_ok=True)
    w = make_weights(seed)
    # The reference runs on exactly the stored values (F16 storage: rounded, then widened exactly).
    w = {k: torch.from_numpy(v.numpy().astype(store).astype(np.float64)) for k, v in w.items()}
    tensors = []
    for k, v in w.items():
        name = k if prefix else k[len("transformer."):]
        tensors.append((name, v.numpy().astype(store)))
        if k.endswith("ln_1.bias"):  # HF's state dict order puts the buffers after ln_1
            layer = k.split(".")[2]
            tril, masked = buffers(*buffer_types)
            p = ("transformer." if prefix else "") + f"h.{layer}.attn."
            tensors += [(p + "bias", tril), (p + "masked_bias", masked)]
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config_json(scale_by_layer), f, indent=2)
        f.write("\n")
    expected = {"generator": "scripts/crosscheck/make_gpt2_golden.py (PyTorch %s, float64 reference)" % torch.__version__,
                "seed": seed, "stored_dtype": np.dtype(store).name, "scale_attn_by_inverse_layer_idx": scale_by_layer}
    expected.update(forward_expectations(w, scale_by_layer))
    if with_training:
        expected["training"] = training_expectations(w)
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


def main():
    torch.set_default_dtype(torch.float64)
    # standard: GPT2LMHeadModel.save_pretrained layout (transformer. prefix), F32, F32 mask buffers.
    write_fixture(os.path.join(ROOT, "standard"), 1, False, np.float32, True, (np.float32, np.float32), True)
    # crfm-f16: Stanford CRFM style (scale_attn_by_inverse_layer_idx), stored F16, GPT2Model keys without
    # the prefix (as the hub's gpt2 model.safetensors), BOOL mask buffers.
    write_fixture(os.path.join(ROOT, "crfm-f16"), 2, True, np.float16, False, (np.bool_, np.float16), False)
    for sub in ("standard", "crfm-f16"):
        for name in sorted(os.listdir(os.path.join(ROOT, sub))):
            print(f"{sub}/{name}: {os.path.getsize(os.path.join(ROOT, sub, name))} bytes")


if __name__ == "__main__":
    main()
