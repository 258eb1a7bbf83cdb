#!/usr/bin/python3
"""PyTorch reference of aurl's VAE (src/engine/model/vae.c), in float64.

Encoder: token + learned position embedding, bidirectional pre-LN blocks
(reference_model.Block with an all-True mask), final LayerNorm. Levels
global/segment/fine: mean-pool the encoder output over each segment, mu and
logvar linear heads, z = mu + exp(logvar/2) * eps with a FIXED eps stored in
the fixture, projection of z to d_model added to the decoder embeddings of
the positions the segment covers. Decoder: reference_model.Transformer.
Loss: recon (cross-entropy, PAD ignored) + beta * sum_l kl_pen_l / T with
kl_pen_l = S_l * sum_j max(mean_rows KL_j, free_bits) (src/engine/nn/kl.h).

    /usr/bin/python3 tests/reference/reference_vae.py [OUT]   (default tests/fixtures/vae_ref.bin)

writes config, weights (C tensor names), inputs/targets, eps per level,
the loss terms and every parameter gradient, in the AURLREF1 format of
tests/reference/reference_model.py.
"""
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Block, Transformer, PAD  # noqa: E402

LEVELS = ["global", "segment", "fine"]
CFG = dict(V=64, C=16, L=1, NH=2, Fd=32, maxT=8)
ENC_LAYERS = 2
DIMS = [4, 3, 2]
SEGS = [1, 2, 4]
B, T = 2, 8
BETA, FREE_BITS = 0.7, 1.0


class Encoder(nn.Module):
    def __init__(self, V, C, L, NH, Fd, maxT):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(maxT, C)
        self.blocks = nn.ModuleList([Block(C, NH, Fd, 0.0) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)

    def forward(self, idx):
        Bn, Tn = idx.shape
        x = self.wte(idx) + self.wpe.weight[:Tn]
        mask = torch.ones(Tn, Tn, dtype=torch.bool)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln_f(x)


class Level(nn.Module):
    def __init__(self, C, D):
        super().__init__()
        self.mu = nn.Linear(C, D)
        self.logvar = nn.Linear(C, D)
        self.proj = nn.Linear(D, C)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        c = CFG
        self.enc = Encoder(c["V"], c["C"], ENC_LAYERS, c["NH"], c["Fd"], c["maxT"])
        self.latent = nn.ModuleDict({n: Level(c["C"], d) for n, d in zip(LEVELS, DIMS)})
        self.dec = Transformer(**c, learned_pos=True)

    def forward(self, idx, targets, eps):
        Bn, Tn = idx.shape
        h = self.enc(idx)
        cond = torch.zeros_like(h)
        terms = {}
        pen_total = 0.0
        for name, S, e in zip(LEVELS, SEGS, eps):
            lv = self.latent[name]
            pooled = h.view(Bn, S, Tn // S, -1).mean(dim=2)          # (B, S, C)
            mu, logvar = lv.mu(pooled), lv.logvar(pooled)            # (B, S, D)
            z = mu + torch.exp(0.5 * logvar) * e.view_as(mu)
            zc = lv.proj(z)                                          # (B, S, C)
            cond = cond + zc.repeat_interleave(Tn // S, dim=1)
            kl = 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar)  # (B, S, D)
            kbar = kl.reshape(-1, kl.shape[-1]).mean(dim=0)          # (D)
            terms["kl_" + name] = S * kbar.sum()
            print(name, "kbar", [round(v, 3) for v in kbar.tolist()])
            pen = S * torch.clamp(kbar, min=FREE_BITS).sum()
            terms["kl_pen_" + name] = pen
            pen_total = pen_total + pen
        d = self.dec
        x = d.wte(idx) + d.wpe.weight[:Tn] + cond
        for blk in d.blocks:
            x = blk(x, d.mask)
        logits = F.linear(d.ln_f(x), d.wte.weight)
        recon = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD)
        terms["recon"] = recon
        terms["loss"] = recon + BETA * pen_total / Tn
        return terms


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/vae_ref.bin"
    torch.manual_seed(4321)
    model = VAE().double()
    with torch.no_grad():
        for name, prm in model.named_parameters():
            if name.endswith("bias"):
                prm.normal_(0.0, 0.05)
            elif ".ln" in name:
                prm.add_(torch.randn_like(prm) * 0.1)
            elif name.startswith("latent"):
                prm.normal_(0.0, 0.5)   # KL of order 1: some dims above free bits
            else:
                prm.normal_(0.0, 0.1)
    idx = torch.randint(0, CFG["V"], (B, T + 1))
    inputs, targets = idx[:, :T].clone(), idx[:, 1:].clone()
    targets[0, 2] = PAD
    targets[1, 5] = PAD
    eps = [torch.randn(B * S * D, dtype=torch.float64) for S, D in zip(SEGS, DIMS)]
    terms = model(inputs, targets, eps)
    terms["loss"].backward()

    tensors = []

    def put(name, t):
        tensors.append((name, t.detach().to(torch.float32).contiguous()))

    c = CFG
    put("config", torch.tensor([c["V"], c["C"], c["L"], c["NH"], c["Fd"], c["maxT"], B, T, ENC_LAYERS,
                                *DIMS, *SEGS, BETA, FREE_BITS], dtype=torch.float64))
    put("inputs", inputs.double())
    put("targets", targets.double())
    for name, e in zip(LEVELS, eps):
        put("eps/" + name, e)
    for k in ["loss", "recon"] + [p + n for n in LEVELS for p in ("kl_", "kl_pen_")]:
        put("out/" + k, terms[k].reshape(1))
    for name, prm in model.named_parameters():
        put("weights/" + name, prm)
        put("grad/" + name, prm.grad)
    print("loss %.6f recon %.6f " % (terms["loss"].item(), terms["recon"].item()) +
          " ".join("%s %.4f/%.4f" % (n, terms["kl_" + n].item(), terms["kl_pen_" + n].item()) for n in LEVELS))
    with open(out, "wb") as f:
        f.write(b"AURLREF1")
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", t.dim()))
            f.write(struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())
    print(f"wrote {out}: {len(tensors)} tensors, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
