#!/usr/bin/python3
"""PyTorch speed baseline for `aurl bench`: trains the same Transformer
(tests/reference/reference_model.py) in fp32 with the same optimiser (AdamW, decay on
matrices, clipping 1.0) on random tokens, 2 threads by default. With --peak
N,N also times torch.mm of N x N float32 matrices (best of 5, checked against
float64 on a few rows): PyTorch's own sgemm peak on this machine. The JSON
line names the OpenBLAS core PyTorch runs (blas_core; OPENBLAS_CORETYPE
selects it at load, as for aurl).

    /usr/bin/python3 bench/torch_bench.py [--config bench/reference.yaml] [--steps N]
                                          [--threads N] [--batch B] [--seq T] [--peak N,N] [--json]
"""
import argparse
import ctypes
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from reference_model import Transformer, lr_at, make_optimizer  # noqa: E402


def load_config(path):
    cfg = dict(vocab_size=774, d_model=256, n_layers=4, n_heads=4, d_ff=None, max_seq_len=512,
               attention="full", window=256, global_stride=64, dropout=0.0, positions="learned", batch_size=8)
    if path:
        import yaml
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        cfg["batch_size"] = doc.get("batch_size", cfg["batch_size"])
        cfg.update(doc.get("model", {k: v for k, v in doc.items() if k in cfg}))
    if cfg["d_ff"] is None:
        cfg["d_ff"] = 4 * cfg["d_model"]
    return cfg


def openblas_core():
    """The core of the OpenBLAS this process loaded (via torch), or "unknown"."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if "libopenblas" in ln and ln.split()[-1].startswith("/")})
        lib = ctypes.CDLL(libs[0])  # already loaded: the same handle
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, IndexError, AttributeError):
        return "unknown"


def sgemm_peak(sizes, repeats=5):
    """{N: GFLOP/s} of torch.mm on N x N float32 (best of REPEATS after a warm-up)."""
    out = {}
    for n in sizes:
        a, b = torch.rand(n, n) * 2 - 1, torch.rand(n, n) * 2 - 1
        c = torch.empty(n, n)
        best = float("inf")
        for rep in range(-1, repeats):
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            if rep >= 0:
                best = min(best, time.perf_counter() - t0)
        ref = a[:8].double() @ b.double()
        err = ((c[:8].double() - ref).abs() / (a[:8].double().abs() @ b.double().abs())).max().item()
        if err > 1e-4:
            sys.exit(f"torch_bench: torch.mm {n}: wrong results (relative error {err:.2g})")
        out[n] = 2.0 * n ** 3 / best / 1e9
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--peak", help="also time torch.mm at these sizes (comma-separated)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = load_config(a.config)
    B = a.batch or c["batch_size"]
    T = a.seq or c["max_seq_len"]
    model = Transformer(c["vocab_size"], c["d_model"], c["n_layers"], c["n_heads"], c["d_ff"], max(T, c["max_seq_len"]),
                        attention=c["attention"], window=c["window"], stride=c["global_stride"],
                        learned_pos=c["positions"] == "learned", dropout=c["dropout"],
                        rotary=c["positions"] == "rotary")
    model.train()
    opt = make_optimizer(model, 3e-4, 0.1, (0.9, 0.95), 1e-8)
    idx = torch.randint(0, c["vocab_size"], (B, T + 1))
    x, y = idx[:, :T], idx[:, 1:]
    elapsed = 0.0
    loss = None
    for step in range(-1, a.steps):  # step -1: untimed warm-up
        t0 = time.perf_counter()
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for g in opt.param_groups:
            g["lr"] = lr_at(max(step, 0), 3e-4, 3e-5, 10, 1000)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= 0:
            elapsed += time.perf_counter() - t0
    tps = B * T * a.steps / elapsed
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    core = openblas_core()
    print(f"torch {torch.__version__} (OpenBLAS {core}): {a.steps} steps, {1e3 * elapsed / a.steps:.1f} ms/step, "
          f"{tps:.0f} tokens/s, peak RSS {rss:.0f} MB, {a.threads} threads, loss {loss.item():.4f}")
    peak = sgemm_peak([int(n) for n in a.peak.split(",")]) if a.peak else {}
    for n, gf in peak.items():
        print(f"torch.mm {n}x{n}, {a.threads} threads: {gf:.1f} GFLOP/s")
    if a.json:
        out = dict(tokens_per_s=tps, step_ms=1e3 * elapsed / a.steps, peak_rss_mb=rss, threads=a.threads,
                   batch=B, seq_len=T, torch=torch.__version__, blas_core=core)
        if peak:
            out.update({f"gflops_{n}": gf for n, gf in peak.items()}, peak_gflops=max(peak.values()))
        print(json.dumps(out))


if __name__ == "__main__":
    main()
