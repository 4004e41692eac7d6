#!/usr/bin/env python3
"""Peer baseline: SAE training throughput in PyTorch on CPU (the math SAELens' standard
and TopK SAEs use). Prints tokens/s for one configuration. Run with Debian's /usr/bin/python3.

From ../shared/baselines/torch_sae_bench.py, plus --inputs: `mechanist bench sae` passes the .npy of the input
batches it trains on itself (heavy-tailed synthetic activations), and both rotate over the same batches, one per
step. Without --inputs: Gaussian inputs, four batches rotated, as the original."""
import argparse, time, torch

p = argparse.ArgumentParser()
p.add_argument("--d-in", type=int, default=512)
p.add_argument("--d-sae", type=int, default=4096)
p.add_argument("--batch", type=int, default=4096)
p.add_argument("--steps", type=int, default=30)
p.add_argument("--kind", choices=["relu", "topk"], default="relu")
p.add_argument("--k", type=int, default=32)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--inputs", help=".npy of float32 rows [n * batch, d_in] to rotate over, one batch per step")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
W_enc = torch.nn.Parameter(torch.randn(a.d_in, a.d_sae) / a.d_in ** 0.5)
W_dec = torch.nn.Parameter(W_enc.detach().t().clone())
b_enc = torch.nn.Parameter(torch.zeros(a.d_sae))
b_dec = torch.nn.Parameter(torch.zeros(a.d_in))
opt = torch.optim.Adam([W_enc, W_dec, b_enc, b_dec], lr=1e-4)
if a.inputs:
    import numpy as np
    x = torch.from_numpy(np.load(a.inputs).astype(np.float32))
    assert x.shape[1] == a.d_in and x.shape[0] % a.batch == 0, f"--inputs {a.inputs}: shape {tuple(x.shape)}"
else:
    x = torch.randn(a.batch * 4, a.d_in)
nb = x.shape[0] // a.batch

def step(xb):
    pre = (xb - b_dec) @ W_enc + b_enc
    if a.kind == "relu":
        f = torch.relu(pre)
        recon = f @ W_dec + b_dec
        loss = (recon - xb).pow(2).sum(-1).mean() + 5.0 * (f * W_dec.norm(dim=1)).sum(-1).mean()
    else:
        v, i = pre.topk(a.k, dim=-1)
        f = torch.zeros_like(pre).scatter(-1, i, torch.relu(v))
        recon = f @ W_dec + b_dec
        loss = (recon - xb).pow(2).sum(-1).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        W_dec.div_(W_dec.norm(dim=1, keepdim=True))
    return loss

for i in range(3):
    step(x[(i % nb) * a.batch:(i % nb + 1) * a.batch])
t = time.perf_counter()
for i in range(a.steps):
    step(x[(i % nb) * a.batch:(i % nb + 1) * a.batch])
dt = time.perf_counter() - t
tok = a.steps * a.batch / dt
flops = 6 * 2 * a.d_in * a.d_sae  # fwd enc+dec, and twice that backward, per token
print(f"torch {torch.__version__} {a.kind} d_in={a.d_in} d_sae={a.d_sae} batch={a.batch} threads={a.threads}: "
      f"{tok:,.0f} tokens/s, {tok * flops / 1e9:.1f} GFLOP/s effective")
