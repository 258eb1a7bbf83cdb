#!/usr/bin/python3
"""PyTorch reference of aurl's Transformer (src/engine/model/transformer.c).

The same architecture, in float64: GPT-2-like pre-LN causal decoder with
tied output embedding, tanh-GELU MLP, learned, sinusoidal or rotary positions, and
full / sliding_window / hierarchical causal attention masks; AdamW with
decay on matrices only, warmup + cosine schedule and global-norm clipping.

    /usr/bin/python3 tests/reference/reference_model.py [OUT]   (default tests/fixtures/transformer_ref.bin)

writes the fixture tests/test_transformer.c checks against: shared weights,
inputs/targets (some PAD), and per attention variant the loss, every
gradient (and logits for "full"), and the losses and pre-clip gradient
norms of 10 AdamW steps. Format (little-endian): b"AURLREF1", u32 count,
then per tensor: u32 name length, name bytes, u32 ndims, u32 dims[ndims],
float32 data. The model class is also used by tests/reference/reference_vae.py and by
the benchmarks bench/torch_bench.py and bench/torch_generate.py.
"""
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD = 2
ATTN_KIND = {"full": 0, "sliding_window": 1, "hierarchical": 2}


def attention_mask(kind, T, window, stride):
    """Boolean (T, T) mask: True where query t may see key s."""
    t = torch.arange(T).view(T, 1)
    s = torch.arange(T).view(1, T)
    causal = s <= t
    if kind == "full":
        return causal
    local = causal & (s >= t - window + 1)
    if kind == "sliding_window":
        return local
    glob = (s < t - window + 1) & (s % stride == stride - 1)
    return local | glob


def sinusoidal_table(maxT, C):
    tab = torch.zeros(maxT, C, dtype=torch.float64)
    for c in range(C):
        i2 = c & ~1
        angle = torch.arange(maxT, dtype=torch.float64) / (10000.0 ** (i2 / C))
        tab[:, c] = torch.cos(angle) if c & 1 else torch.sin(angle)
    return tab


def rope_rotate(x, offset=0):
    """Rotary positions (src/engine/nn/rope.c) of x (B, NH, T, hs): the pair
    (x[2i], x[2i+1]) at position offset + t rotated by (offset + t) * 10000^(-2i/hs)."""
    T, hs = x.shape[-2], x.shape[-1]
    theta = 10000.0 ** (-2.0 * torch.arange(hs // 2, dtype=torch.float64) / hs)
    ang = torch.arange(offset, offset + T, dtype=torch.float64).view(T, 1) * theta.view(1, -1)
    c, s = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, C, NH, Fd, p, rotary=False):
        super().__init__()
        self.NH = NH
        self.rotary = rotary
        self.p = p
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(C, 3 * C)
        self.attn.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(C, Fd)
        self.mlp.fc2 = nn.Linear(Fd, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.attn.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        if self.rotary:
            q, k = rope_rotate(q), rope_rotate(k)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(~mask[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + F.dropout(self.attn.proj(y), self.p, self.training)
        h = F.gelu(self.mlp.fc1(self.ln2(x)), approximate="tanh")
        return x + F.dropout(self.mlp.fc2(h), self.p, self.training)


class Transformer(nn.Module):
    def __init__(self, V, C, L, NH, Fd, maxT, attention="full", window=256, stride=64,
                 learned_pos=True, dropout=0.0, rotary=False):
        super().__init__()
        self.p = dropout
        self.rotary = rotary
        self.wte = nn.Embedding(V, C)
        if rotary:
            self.wpe = None
        elif learned_pos:
            self.wpe = nn.Embedding(maxT, C)
        else:
            self.wpe = None
            self.register_buffer("pos_table", sinusoidal_table(maxT, C).float())
        self.blocks = nn.ModuleList([Block(C, NH, Fd, dropout, rotary) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        self.register_buffer("mask", attention_mask(attention, maxT, window, stride))
        # GPT-2 init, as transformer_create (different RNG stream)
        for name, prm in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(prm)
            elif ".ln" in name or name.startswith("ln_f"):
                nn.init.ones_(prm)
            else:
                std = 0.02 / math.sqrt(2 * L) if name.endswith(("attn.proj.weight", "mlp.fc2.weight")) else 0.02
                nn.init.normal_(prm, 0.0, std)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe.weight[:T]
        elif not self.rotary:
            x = x + self.pos_table[:T].to(self.wte.weight.dtype)
        x = F.dropout(x, self.p, self.training)
        for blk in self.blocks:
            x = blk(x, self.mask)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD)
        return logits, loss


def lr_at(step, lr, min_lr, warmup, total):
    """src/engine/nn/lr_schedule.c."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if total <= warmup:
        return lr
    progress = min(1.0, (step - warmup) / (total - warmup))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def make_optimizer(model, lr, wd, betas, eps):
    """AdamW with weight decay on parameters of dim >= 2 only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas, eps=eps)


# ---- fixture -----------------------------------------------------------------
CFG = dict(V=774, C=32, L=2, NH=2, Fd=64, maxT=16)
B, T = 2, 16
OPT = dict(lr=3e-3, min_lr=3e-4, warmup=3, total=10, beta1=0.9, beta2=0.95, eps=1e-8, wd=0.1, clip=0.5, steps=10)
POSITIONS = {"sinusoidal": 0, "learned": 1, "rotary": 2}  # model_pos (src/engine/model/model_config.h)
VARIANTS = [  # name, attention, window, stride, positions, store logits
    ("full", "full", 256, 64, "learned", True),
    ("sliding", "sliding_window", 5, 64, "learned", False),
    ("hier", "hierarchical", 4, 3, "sinusoidal", False),
    ("rot_full", "full", 256, 64, "rotary", True),
    ("rot_sliding", "sliding_window", 5, 64, "rotary", False),
    ("rot_hier", "hierarchical", 4, 3, "rotary", False),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/transformer_ref.bin"
    torch.manual_seed(1234)
    tensors = []

    def put(name, t):
        tensors.append((name, t.detach().to(torch.float32).contiguous()))

    base = Transformer(**CFG, learned_pos=True)
    # non-trivial biases and LayerNorm affine so every term of the maths is exercised
    with torch.no_grad():
        for name, prm in base.named_parameters():
            if name.endswith("bias"):
                prm.normal_(0.0, 0.02)
            elif ".ln" in name or name.startswith("ln_f"):
                prm.add_(torch.randn_like(prm) * 0.1)
    weights = {k: v.detach().clone() for k, v in base.state_dict().items()
               if k in dict(base.named_parameters())}
    idx = torch.randint(0, CFG["V"], (B, T + 1))
    inputs, targets = idx[:, :T].clone(), idx[:, 1:].clone()
    targets[0, 3] = PAD
    targets[1, 0] = PAD
    targets[1, T - 1] = PAD
    put("config", torch.tensor([CFG["V"], CFG["C"], CFG["L"], CFG["NH"], CFG["Fd"], CFG["maxT"], B, T], dtype=torch.float64))
    put("optim", torch.tensor([OPT[k] for k in ("lr", "min_lr", "warmup", "total", "beta1", "beta2", "eps", "wd", "clip", "steps")],
                              dtype=torch.float64))
    put("inputs", inputs.double())
    put("targets", targets.double())
    for k, v in weights.items():
        put("weights/" + k, v)

    for vname, kind, window, stride, positions, store_logits in VARIANTS:
        learned = positions == "learned"
        model = Transformer(**CFG, attention=kind, window=window, stride=stride, learned_pos=learned,
                            rotary=positions == "rotary").double()
        sd = {k: v.double() for k, v in weights.items() if learned or not k.startswith("wpe")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and all(m in ("mask", "pos_table") for m in missing), (missing, unexpected)
        model.eval()  # dropout 0 anyway
        put(vname + "/attn", torch.tensor([ATTN_KIND[kind], window, stride, POSITIONS[positions]], dtype=torch.float64))
        logits, loss = model(inputs, targets)
        loss.backward()
        if store_logits:
            put(vname + "/logits", logits)
        put(vname + "/loss", loss.reshape(1))
        for name, prm in model.named_parameters():
            put(vname + "/grad/" + name, prm.grad)
        model.zero_grad(set_to_none=True)
        opt = make_optimizer(model, OPT["lr"], OPT["wd"], (OPT["beta1"], OPT["beta2"]), OPT["eps"])
        losses, norms = [], []
        for step in range(OPT["steps"]):
            _, loss = model(inputs, targets)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), OPT["clip"])
            for g in opt.param_groups:
                g["lr"] = lr_at(step, OPT["lr"], OPT["min_lr"], OPT["warmup"], OPT["total"])
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            norms.append(norm.item())
        put(vname + "/losses", torch.tensor(losses))
        put(vname + "/gradnorms", torch.tensor(norms))
        print(f"{vname}: loss {losses[0]:.6f} -> {losses[-1]:.6f}, grad norms {norms[0]:.4f} .. {norms[-1]:.4f}")

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
    print(f"wrote {out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
