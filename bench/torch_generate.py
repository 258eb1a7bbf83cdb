#!/usr/bin/python3
"""PyTorch sampling baseline for bench/gen_bench.c: the reference Transformer
(tests/reference/reference_model.py, random weights, fp32, eval mode) generating N
tokens with top-p sampling, two ways:

  nocache  the original project's generate: every new token runs the full
           forward pass over the whole (cropped to max_seq_len) context;
  cache    a KV-cached generate: per layer keys/values are kept and each new
           token runs one row through the blocks (the same sliding rule as
           aurl: when the context is full, re-run the last half as a prefix);
           --batch B decodes B sequences at once (tokens/s counts all B).

    /usr/bin/python3 bench/torch_generate.py [--config bench/reference.yaml] [--tokens N]
                                             [--threads N] [--mode nocache|cache|both] [--batch B] [--json]
Prints tokens/s and time to first token per mode (one JSON line each with --json,
with the OpenBLAS core PyTorch runs as blas_core).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "tests", "reference"))
sys.path.insert(0, _HERE)
from reference_model import Transformer, rope_rotate  # noqa: E402
from torch_bench import load_config, openblas_core  # noqa: E402


def top_p_sample(logits, p, gen):
    """One token id per row of LOGITS (V,) or (B, V): an int, or a list of B ints."""
    probs = torch.softmax(logits, dim=-1)
    sp, si = torch.sort(probs, descending=True)
    cum = torch.cumsum(sp, dim=-1)
    keep = cum - sp < p
    sp = sp * keep
    k = torch.multinomial(sp / sp.sum(dim=-1, keepdim=True), 1, generator=gen)
    ids = si.gather(-1, k).squeeze(-1)
    return int(ids) if ids.dim() == 0 else ids.tolist()


@torch.no_grad()
def generate_nocache(model, maxT, n, p, gen):
    """The original project's loop: full forward on the cropped context per token."""
    seq = [0]
    t0 = time.perf_counter()
    first = None
    for _ in range(n):
        ctx = torch.tensor([seq[-maxT:]])
        logits, _ = model(ctx)
        seq.append(top_p_sample(logits[0, -1], p, gen))
        if first is None:
            first = time.perf_counter() - t0
    return time.perf_counter() - t0, first


class Cached:
    """KV-cached incremental forward of reference_model.Transformer (full attention)."""

    def __init__(self, model):
        self.m = model
        self.reset()

    def reset(self):
        self.k = [None] * len(self.m.blocks)
        self.v = [None] * len(self.m.blocks)
        self.pos = 0

    def forward(self, idx):  # idx (B, T) new tokens; returns logits (B, V) of the last
        m = self.m
        B, T = idx.shape
        x = m.wte(idx)
        if m.wpe is not None:
            x = x + m.wpe.weight[self.pos:self.pos + T]
        elif not m.rotary:
            x = x + m.pos_table[self.pos:self.pos + T]
        for li, blk in enumerate(m.blocks):
            C = x.shape[-1]
            hs = C // blk.NH
            q, k, v = blk.attn.qkv(blk.ln1(x)).split(C, dim=2)
            q = q.view(B, T, blk.NH, hs).transpose(1, 2)
            k = k.view(B, T, blk.NH, hs).transpose(1, 2)
            v = v.view(B, T, blk.NH, hs).transpose(1, 2)
            if m.rotary:  # keys enter the cache rotated at their absolute positions
                q, k = rope_rotate(q, self.pos), rope_rotate(k, self.pos)
            if self.k[li] is not None:
                k = torch.cat([self.k[li], k], dim=2)
                v = torch.cat([self.v[li], v], dim=2)
            self.k[li], self.v[li] = k, v
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            if T > 1:
                S = k.shape[2]
                mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
                att = att.masked_fill(~mask, float("-inf"))
            y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
            x = x + blk.attn.proj(y)
            x = x + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.ln2(x)), approximate="tanh"))
        self.pos += T
        return F.linear(m.ln_f(x[:, -1]), m.wte.weight)


@torch.no_grad()
def generate_cache(model, maxT, n, p, gen, batch=1):
    """N tokens for each of BATCH sequences; (seconds, seconds to the first tokens)."""
    c = Cached(model)
    seqs = torch.zeros(batch, 1, dtype=torch.long)
    t0 = time.perf_counter()
    logits = c.forward(seqs)
    first = None
    for _ in range(n):
        nxt = torch.tensor(top_p_sample(logits, p, gen)).view(batch, 1)
        seqs = torch.cat([seqs, nxt], dim=1)
        if first is None:
            first = time.perf_counter() - t0
        if c.pos < maxT:
            logits = c.forward(nxt)
        else:  # slide: re-prefill the last half, as aurl does
            keep = maxT - maxT // 2
            c.reset()
            logits = c.forward(seqs[:, -keep:])
    return time.perf_counter() - t0, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="bench/reference.yaml")
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="both", choices=["nocache", "cache", "both"])
    ap.add_argument("--top-p", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=1, help="sequences decoded at once (cache mode)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = load_config(a.config)
    model = Transformer(c["vocab_size"], c["d_model"], c["n_layers"], c["n_heads"], c["d_ff"], c["max_seq_len"],
                        attention=c["attention"], window=c["window"], stride=c["global_stride"],
                        learned_pos=c["positions"] == "learned", dropout=0.0, rotary=c["positions"] == "rotary")
    model.eval()
    modes = ["nocache", "cache"] if a.mode == "both" else [a.mode]
    core = openblas_core()
    for mode in modes:
        if mode == "nocache":
            fn, batch = generate_nocache, 1
        else:
            fn, batch = (lambda *args: generate_cache(*args, batch=a.batch)), a.batch
        gen = torch.Generator().manual_seed(1)
        fn(model, c["max_seq_len"], 8, a.top_p, gen)  # warm-up
        secs, first = fn(model, c["max_seq_len"], a.tokens, a.top_p, gen)
        tps = batch * a.tokens / secs
        if a.json:
            print(json.dumps({"mode": mode, "batch": batch, "tokens": a.tokens, "seconds": round(secs, 4),
                              "tokens_per_s": round(tps, 1), "first_token_ms": round(first * 1e3, 3),
                              "blas_core": core}))
        else:
            print(f"pytorch ({mode}, batch {batch}, OpenBLAS {core}): {batch} x {a.tokens} tokens in {secs:.3f} s "
                  f"= {tps:.0f} tokens/s; first token {first * 1e3:.2f} ms")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
