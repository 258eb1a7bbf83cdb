#!/usr/bin/python3
"""PyTorch reference of aurl's multi-scale discriminator, GAN losses and
Gumbel straight-through path (src/engine/model/discriminator.c, src/engine/nn/gan_loss.c, gumbel.c).

    /usr/bin/python3 tests/reference/reference_disc.py [OUT]   (default tests/fixtures/disc_ref.bin)

In float64 with torch.nn.utils.parametrizations.spectral_norm on every
linear layer (its u/v buffers are written into the fixture before the
forward, so the power iteration the forward runs is the same in C), a tiny
config, a soft input distribution. Stores weights, u/v before and after
the (training-mode) forward, per-scale and combined logits, features, the
loss L = G_nonsat(logits) + FM_W * FM_L2(realfeat, features) and its
gradients w.r.t. every parameter and the input; D/G loss values for both
kinds; and a Gumbel straight-through case with fixed noise (soft output and
dlogits of sum(w * y_st)). Format as tests/reference/reference_model.py (AURLREF1).
"""
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

CFG = dict(V=774, E=8, H=12, L=2, K=3, scales=(1, 4, 8), leaky=0.2, sn_iters=1)
B, T = 2, 12
FM_W = 0.7
TAU = 0.7
GN, GV = 6, 40


def unfold(x, k):
    """(B, Ts, C) -> (B, Ts, k*C): neighbours t-r..t+r, zeros past the edges."""
    r = k // 2
    xp = F.pad(x, (0, 0, r, r))
    Ts = x.shape[1]
    return torch.cat([xp[:, j:j + Ts] for j in range(k)], dim=2)


def pool(h, s):
    """Average over windows of s positions; a short last window averages what it has."""
    Tn = h.shape[1]
    return torch.stack([h[:, t0:min(Tn, t0 + s)].mean(1) for t0 in range(0, Tn, s)], dim=1)


class Disc(nn.Module):
    def __init__(self, V, E, H, L, K, scales, leaky, sn_iters):
        super().__init__()
        self.K, self.scales, self.leaky = K, scales, leaky
        self.embed = nn.Parameter(torch.randn(V, E))
        self.layers = nn.ModuleList()
        self.heads = nn.ModuleList()
        for _ in scales:
            ls = nn.ModuleList()
            for l in range(L):
                ls.append(spectral_norm(nn.Linear(K * (E if l == 0 else H), H), n_power_iterations=sn_iters))
            self.layers.append(ls)
            self.heads.append(spectral_norm(nn.Linear(H, 1), n_power_iterations=sn_iters))

    def forward(self, x):
        h0 = x @ self.embed
        slog, feats = [], []
        for si, s in enumerate(self.scales):
            h = h0 if s == 1 else pool(h0, s)
            for lin in self.layers[si]:
                h = F.leaky_relu(lin(unfold(h, self.K)), self.leaky)
            f = h.mean(1)
            feats.append(f)
            slog.append(self.heads[si](f).squeeze(1))
        slog = torch.stack(slog)  # (S, B)
        return slog.mean(0), slog, torch.cat(feats, dim=1)

    def named_sn(self):
        """(C prefix, module) for every SN linear in C order."""
        for si in range(len(self.scales)):
            for l, lin in enumerate(self.layers[si]):
                yield f"disc.s{si}.l{l}", lin
            yield f"disc.s{si}.head", self.heads[si]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/disc_ref.bin"
    torch.manual_seed(4321)
    tensors = []

    def put(name, t):
        tensors.append((name, t.detach().to(torch.float32).contiguous()))

    D = Disc(**CFG).double()
    # float32-representable weights and SN state so C starts from identical values
    with torch.no_grad():
        for p in D.parameters():
            p.copy_(p.float().double())
        for _, lin in D.named_sn():
            par = lin.parametrizations.weight[0]
            par._u.copy_(par._u.float().double())
            par._v.copy_(par._v.float().double())
    put("config", torch.tensor([CFG["V"], CFG["E"], CFG["H"], CFG["L"], CFG["K"], len(CFG["scales"]),
                                *CFG["scales"], CFG["leaky"], CFG["sn_iters"], B, T, FM_W, TAU], dtype=torch.float64))
    put("weights/disc.embed.weight", D.embed)
    for name, lin in D.named_sn():
        par = lin.parametrizations.weight[0]
        put(f"weights/{name}.weight", lin.parametrizations.weight.original)
        put(f"weights/{name}.bias", lin.bias)
        put(f"weights/{name}.weight_u", par._u)
        put(f"weights/{name}.weight_v", par._v)

    x = F.softmax(torch.randn(B, T, CFG["V"], dtype=torch.float64) * 2.0, dim=-1).float().double()
    x.requires_grad_(True)
    realfeat = torch.randn(3, len(CFG["scales"]) * CFG["H"], dtype=torch.float64).float().double()
    fake_logits = torch.randn(B, dtype=torch.float64).float().double()
    put("input", x)
    put("realfeat", realfeat)
    put("fake_logits", fake_logits)

    D.train()
    logits, slog, feat = D(x)
    fm = ((feat.mean(0) - realfeat.mean(0)) ** 2).mean()
    g_ns = F.softplus(-logits).mean()
    loss = g_ns + FM_W * fm
    loss.backward()
    put("logits", logits)
    put("scale_logits", slog)
    put("features", feat)
    put("loss", torch.stack([loss, g_ns, fm]))
    put("grad/input", x.grad)
    put("grad/disc.embed.weight", D.embed.grad)
    for name, lin in D.named_sn():
        par = lin.parametrizations.weight[0]
        put(f"grad/{name}.weight", lin.parametrizations.weight.original.grad)
        put(f"grad/{name}.bias", lin.bias.grad)
        put(f"after/{name}.weight_u", par._u)
        put(f"after/{name}.weight_v", par._v)
    with torch.no_grad():
        r, f = logits, fake_logits
        put("dloss", torch.stack([F.relu(1 - r).mean() + F.relu(1 + f).mean(),
                                  F.softplus(-r).mean() + F.softplus(f).mean(),
                                  -f.mean(), F.softplus(-f).mean()]))

    # Gumbel straight-through with fixed noise
    gl = (torch.randn(GN, GV, dtype=torch.float64) * 1.5).float().double().requires_grad_(True)
    U = torch.rand(GN, GV, dtype=torch.float64).clamp(1e-9, 1 - 1e-9)
    g = (-torch.log(-torch.log(U))).float().double()
    w = torch.randn(GN, GV, dtype=torch.float64).float().double()
    soft = F.softmax((gl + g) / TAU, dim=-1)
    hard = F.one_hot(soft.argmax(-1), GV).double()
    y = hard - soft.detach() + soft
    (y * w).sum().backward()
    put("gumbel/logits", gl)
    put("gumbel/noise", g)
    put("gumbel/dy", w)
    put("gumbel/soft", soft)
    put("gumbel/hard", soft.argmax(-1).double())
    put("gumbel/dlogits", gl.grad)

    with open(out, "wb") as fh:
        fh.write(b"AURLREF1")
        fh.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            nb = name.encode()
            fh.write(struct.pack("<I", len(nb)))
            fh.write(nb)
            fh.write(struct.pack("<I", t.dim()))
            fh.write(struct.pack("<%dI" % t.dim(), *t.shape))
            fh.write(t.numpy().astype("<f4").tobytes())
    print(f"wrote {out}: {len(tensors)} tensors; loss {loss.item():.6f}, logits {logits.tolist()}")


if __name__ == "__main__":
    main()
