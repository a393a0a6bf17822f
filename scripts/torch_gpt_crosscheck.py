#!/usr/bin/env python3
"""Cross-check stabcheck's GPT against PyTorch: same weights, same batches, same loss and gradients.

Usage: torch_gpt_crosscheck.py DIR
DIR (written by the Rust test `torch_crosscheck`) holds:
  spec.json   the architecture (stabcheck's GptSpec) and the optimizer settings
  init.npz    initial weights under PyTorch state_dict names and layouts (Linear.weight [out, in])
  data.npz    tokens, targets: int64 [steps, batch, context]
  rust.npz    loss (float64 [steps]: the loss before each AdamW step), and grad.<name> (step 0)
The model below is written from the PyTorch documentation's modules (nn.Linear, nn.Embedding,
nn.LayerNorm, F.gelu, F.cross_entropy, torch.optim.AdamW), not from stabcheck's code. It prints
one line per comparison and exits 1 if any is outside the stated f32 tolerance, 0 otherwise.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# f32 tolerances. Gradients: per tensor, max |rust - torch| <= GRAD_REL * max |torch| + GRAD_ABS
# (an f32 sum of ~1000 terms carries ~1e-6 relative error; 1e-4 leaves margin without hiding a
# wrong formula, which is off by O(1)). Losses: |rust - torch| <= LOSS_REL * |torch| at step 0 and
# TRAJ_REL over the AdamW trajectory, where rounding differences compound step by step.
# Measured on tiny-gpt (2026-12-03, torch 1.13): gradients 1.4e-6, step-0 loss 6e-8, trajectory 1.2e-7.
GRAD_REL, GRAD_ABS = 1e-4, 1e-7
LOSS_REL = 1e-5
TRAJ_REL = 1e-5


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight (PyTorch 1.13 has no nn.RMSNorm)."""

    def __init__(self, width, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def make_norm(s, width):
    if s["norm"] == "rmsnorm":
        return RMSNorm(width, s["norm_eps"])
    return nn.LayerNorm(width, eps=s["norm_eps"], elementwise_affine=True) if s["bias"] else \
        NoBiasLayerNorm(width, s["norm_eps"])


class NoBiasLayerNorm(nn.Module):
    def __init__(self, width, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, None, self.eps)


class Attention(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, self.h = s["d_model"], s["heads"]
        self.qkv = nn.Linear(d, 3 * d, bias=s["bias"])
        if s["qk_norm"]:
            self.q_norm = make_norm(s, d // self.h)
            self.k_norm = make_norm(s, d // self.h)
        self.qk = s["qk_norm"]
        self.proj = nn.Linear(d, d, bias=s["bias"])

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        if self.qk:
            q, k = self.q_norm(q), self.k_norm(k)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.h)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        return self.proj(y)


class Mlp(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, hidden = s["d_model"], s["mlp_ratio"] * s["d_model"]
        self.act = s["mlp_activation"]
        self.fc1 = nn.Linear(d, 2 * hidden if self.act == "swiglu" else hidden, bias=s["bias"])
        self.fc2 = nn.Linear(hidden, d, bias=s["bias"])

    def forward(self, x):
        z = self.fc1(x)
        if self.act == "swiglu":
            a, g = z.chunk(2, dim=-1)
            z = F.silu(a) * g
        elif self.act == "gelu":
            z = F.gelu(z)
        elif self.act == "gelu-tanh":
            z = F.gelu(z, approximate="tanh")
        else:
            z = F.relu(z)
        return self.fc2(z)


class Block(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.pre = s["norm_position"] == "pre"
        self.ln1, self.attn = make_norm(s, s["d_model"]), Attention(s)
        self.ln2, self.mlp = make_norm(s, s["d_model"]), Mlp(s)

    def forward(self, h):
        if self.pre:
            h = h + self.attn(self.ln1(h))
            return h + self.mlp(self.ln2(h))
        h = self.ln1(h + self.attn(h))
        return self.ln2(h + self.mlp(h))


class Gpt(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.tok_emb = nn.Embedding(s["vocab"], s["d_model"])
        self.pos_emb = nn.Embedding(s["context"], s["d_model"])
        self.blocks = nn.ModuleList(Block(s) for _ in range(s["blocks"]))
        if s["norm_position"] == "pre":
            self.ln_f = make_norm(s, s["d_model"])
        self.head = nn.Linear(s["d_model"], s["vocab"], bias=s["bias"])
        if s["tie_embeddings"]:
            self.head.weight = self.tok_emb.weight

    def forward(self, x, y):
        h = self.tok_emb(x) + self.pos_emb(torch.arange(x.shape[1]))
        for block in self.blocks:
            h = block(h)
        if self.s["norm_position"] == "pre":
            h = self.ln_f(h)
        logits = self.head(h).view(-1, self.s["vocab"])
        loss = F.cross_entropy(logits, y.view(-1))
        if self.s["z_loss"] > 0:
            loss = loss + self.s["z_loss"] * torch.logsumexp(logits, dim=-1).pow(2).mean()
        return loss


def main(d):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = json.load(open(f"{d}/spec.json"))
    s, opt = cfg["spec"], cfg["optimizer"]
    model = Gpt(s)
    init = np.load(f"{d}/init.npz")
    own = dict(model.named_parameters())
    missing = sorted(set(own) - set(init.files))
    extra = sorted(set(init.files) - set(own))
    if missing or extra:
        print(f"FAIL names: missing from init.npz {missing}, not in the torch model {extra}")
        return 1
    with torch.no_grad():
        for name, p in own.items():
            p.copy_(torch.from_numpy(init[name]).to(torch.float32))
    data, rust = np.load(f"{d}/data.npz"), np.load(f"{d}/rust.npz")
    xs, ys = torch.from_numpy(data["tokens"]), torch.from_numpy(data["targets"])
    decay = [p for n, p in own.items() if p.dim() >= 2]
    no_decay = [p for n, p in own.items() if p.dim() < 2]
    adamw = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opt["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"])
    failures, losses = 0, []
    for step in range(xs.shape[0]):
        adamw.zero_grad()
        loss = model(xs[step], ys[step])
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            failures += compare_grads(own, rust)
        adamw.step()
    ours = rust["loss"]
    rel0 = abs(ours[0] - losses[0]) / abs(losses[0])
    ok = rel0 <= LOSS_REL
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} loss at step 0: rust {ours[0]:.7f} torch {losses[0]:.7f} rel {rel0:.2e} (tol {LOSS_REL:g})")
    rel = max(abs(a - b) / abs(b) for a, b in zip(ours, losses))
    ok = rel <= TRAJ_REL and len(ours) == len(losses)
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {len(losses)} AdamW steps: loss {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"max rel diff {rel:.2e} (tol {TRAJ_REL:g})")
    return 1 if failures else 0


def compare_grads(own, rust):
    failures, worst = 0, 0.0
    for name, p in own.items():
        ours = torch.from_numpy(rust[f"grad.{name}"]).to(torch.float32)
        theirs = p.grad
        diff = (ours - theirs).abs().max().item()
        scale = theirs.abs().max().item()
        ok = diff <= GRAD_REL * scale + GRAD_ABS
        worst = max(worst, diff / (scale + 1e-30))
        if not ok:
            failures += 1
            print(f"FAIL grad {name}: max |diff| {diff:.3e}, max |torch grad| {scale:.3e}")
    print(f"{'ok  ' if not failures else 'FAIL'} step-0 gradients of {len(own)} tensors: worst max|diff|/max|grad| "
          f"{worst:.2e} (tol {GRAD_REL:g} + {GRAD_ABS:g})")
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
