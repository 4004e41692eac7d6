#!/usr/bin/python3
"""A plain PyTorch TopK SAE on `mechanist sae synth` data, scored as `sae eval --truth` scores ours.

Usage: OPENBLAS_CORETYPE=SkylakeX python3 torch_topk_synth.py DATA.npy --width 1024 --k 6 --tokens 1000000 --lr 3e-3
       [--batch 4096] [--clip 0] [--warmup 0] [--decay 0] [--normalize] [--median] [--seed 0] [--threads 1]

The loop: W_dec rows random unit vectors, W_enc = W_decᵀ, b_enc = 0, b_dec = the data mean (or the geometric median
with --median); z = W_enc(x − b_dec) + b_enc, the k largest kept (ReLU), x̂ = f·W_dec + b_dec; loss
mean_t ‖x̂ − x‖²; Adam (0.9, 0.999, eps 1e-8) at a constant lr; the decoder gradient loses its radial part before each
step and the rows are renormalised after it. Options add what `mechanist sae train` does by default: --clip 1 (global
gradient-norm clip), --warmup N (linear lr warm-up over N steps, capped at 5 % of the run), --decay 0.2 (linear decay
to 0 over the last 20 % of the run), --normalize (train on c·x with E‖c·x‖² = 1), --median (b_dec at the geometric
median). Prints one JSON line: recovered fraction of true directions at cosine ≥ 0.9, MMCS, dead latents.
"""
import argparse, json, os, time
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("data"); p.add_argument("--width", type=int, default=1024); p.add_argument("--k", type=int, default=6)
p.add_argument("--tokens", type=int, default=1_000_000); p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--batch", type=int, default=4096); p.add_argument("--clip", type=float, default=0)
p.add_argument("--warmup", type=int, default=0); p.add_argument("--decay", type=float, default=0); p.add_argument("--normalize", action="store_true")
p.add_argument("--median", action="store_true"); p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
x_all = torch.from_numpy(np.load(a.data).astype(np.float32))
truth = torch.from_numpy(np.load(os.path.splitext(a.data)[0] + ".truth/dictionary.npy").astype(np.float32))
n, d = x_all.shape
scale = 1.0
if a.normalize:
    scale = float(1 / x_all.pow(2).sum(1).mean().sqrt())
x_all = x_all * scale

W_dec = torch.randn(a.width, d)
W_dec /= W_dec.norm(dim=1, keepdim=True)
W_enc = W_dec.clone().T.contiguous()
b_enc = torch.zeros(a.width)
sample = x_all[torch.randperm(n)[:32768]]
if a.median:
    b_dec = sample.mean(0)
    for _ in range(100):
        w = 1 / (sample - b_dec).norm(dim=1).clamp_min(1e-8)
        b_dec = (w[:, None] * sample).sum(0) / w.sum()
else:
    b_dec = sample.mean(0)
params = [W_enc.requires_grad_(), b_enc.requires_grad_(), W_dec.requires_grad_(), b_dec.clone().requires_grad_()]
b_dec = params[3]
opt = torch.optim.Adam(params, lr=a.lr)
steps = max(1, a.tokens // a.batch)
fired_at = torch.full((a.width,), -1, dtype=torch.long)
order = torch.randperm(n)
start = time.time()
for step in range(steps):
    idx = order[(step * a.batch) % n:(step * a.batch) % n + a.batch]
    if len(idx) < a.batch:
        order = torch.randperm(n); idx = order[:a.batch]
    x = x_all[idx]
    z = (x - b_dec) @ W_enc + b_enc
    vals, ids = z.topk(a.k, dim=1)
    f = torch.zeros_like(z).scatter_(1, ids, vals.relu())
    xhat = f @ W_dec + b_dec
    loss = (xhat - x).pow(2).sum(1).mean()
    opt.zero_grad(); loss.backward()
    with torch.no_grad():
        W_dec.grad -= (W_dec.grad * W_dec).sum(1, keepdim=True) * W_dec
        if a.clip > 0: torch.nn.utils.clip_grad_norm_(params, a.clip)
        lr = a.lr
        if a.warmup > 0:
            warm = min(a.warmup, max(1, steps // 20))
            lr = a.lr * min(1, (step + 1) / warm)
        decay_start = round(steps * (1 - a.decay))
        if a.decay > 0 and step >= decay_start: lr = a.lr * (steps - step) / max(1, steps - decay_start)
        for g in opt.param_groups: g["lr"] = lr
    opt.step()
    with torch.no_grad():
        W_dec /= W_dec.norm(dim=1, keepdim=True)
        fired_at[(f > 0).any(0)] = step
cos = torch.nn.functional.normalize(truth, dim=1) @ W_dec.detach().T
best = cos.max(1).values
print(json.dumps({"width": a.width, "k": a.k, "lr": a.lr, "tokens": steps * a.batch, "clip": a.clip, "warmup": a.warmup, "decay": a.decay,
                  "normalize": a.normalize, "recovered_at_0.9": round(float((best >= 0.9).float().mean()), 4),
                  "mmcs": round(float(best.mean()), 4), "dead_last_10pct": int((fired_at < steps * 0.9).sum()),
                  "seconds": round(time.time() - start, 1)}))
