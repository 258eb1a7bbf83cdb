#!/usr/bin/python3
"""make_seeds: seed corpora for the fuzz targets, cut down from real files.

usage: make_seeds.py ROOT OUTPUTS SEEDS
  ROOT     the repository (configs/, bench/, data/cache/)
  OUTPUTS  an outputs dir made by `aurl train` (training_state.json,
           checkpoints/*.ckpt, logs/metrics.jsonl); may be missing
  SEEDS    writes SEEDS/{config,state,ckpt,cache,metrics}/
"""
import glob
import json
import os
import shutil
import struct
import sys
import zlib


def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ckpt_bytes(header, blobs):
    """A checkpoint (format in src/engine/checkpoint.h) of JSON HEADER whose
    tensor table already names the offsets of the byte strings BLOBS."""
    h = json.dumps(header, separators=(",", ":")).encode()
    start = (32 + len(h) + 63) // 64 * 64
    data = b"".join(b + b"\0" * ((-len(b)) % 64) for b in blobs)
    body = b"AURLCKPT" + struct.pack("<IIQQ", 1, 0, len(h), len(data)) + h
    body += b"\0" * (start - len(body)) + data
    return body + struct.pack("<I", zlib.crc32(body))


def ckpt_seeds(path, out):
    raw = open(path, "rb").read()
    put(out, "real.ckpt", raw)
    hlen, dlen = struct.unpack_from("<QQ", raw, 16)
    header = json.loads(raw[32:32 + hlen])
    start = (32 + hlen + 63) // 64 * 64
    table = sorted(header["tensors"], key=lambda t: t["nbytes"])
    for keep in (0, 1, 3):
        blobs, tens, off = [], [], 0
        for t in table[:keep]:
            blobs.append(raw[start + t["offset"]:start + t["offset"] + t["nbytes"]])
            tens.append(dict(t, offset=off))
            off += (t["nbytes"] + 63) // 64 * 64
        put(out, "small%d.ckpt" % keep, ckpt_bytes(dict(header, tensors=tens), blobs))


def cache_seeds(cache_dir, out):
    index = json.load(open(os.path.join(cache_dir, "index.json")))
    tokens = open(os.path.join(cache_dir, "tokens.bin"), "rb").read()
    files = index["files"]
    accepted = [f for f in files if f.get("split") != "rejected"]
    rejected = [f for f in files if f.get("split") == "rejected"]
    accepted.sort(key=lambda f: f["count"])
    for n, pick in enumerate([accepted[:1], accepted[:2] + rejected[:1], accepted[:4] + rejected[:2]]):
        pick = sorted(pick, key=lambda f: f["path"].encode())
        toks, ents = b"", []
        for f in pick:
            f = dict(f)
            if f.get("split") != "rejected":
                seg = tokens[24 + 2 * f["offset"]:24 + 2 * (f["offset"] + f["count"])]
                f["offset"] = len(toks) // 2
                toks += seg
            ents.append(f)
        tb = tokens[:16] + struct.pack("<Q", len(toks) // 2) + toks
        idx = dict(index, files=ents, tokens_count=len(toks) // 2, tokens_crc32=zlib.crc32(toks))
        idx["files_crc32"] = zlib.crc32(json.dumps(ents, separators=(",", ":")).encode())
        ib = json.dumps(idx, indent=1).encode()
        put(out, "cache%d.bin" % n, struct.pack("<I", len(ib)) + ib + tb)


def main():
    root, outputs, seeds = sys.argv[1:4]
    for name in ("config", "state", "ckpt", "cache", "metrics"):
        shutil.rmtree(os.path.join(seeds, name), ignore_errors=True)
    for p in glob.glob(os.path.join(root, "configs/**/*.yaml"), recursive=True) + [
            os.path.join(root, "bench/reference.yaml"), os.path.join(root, "fuzz/seed_tiny.yaml")]:
        if os.path.exists(p):
            put(os.path.join(seeds, "config"), os.path.basename(p), open(p, "rb").read())
    state = os.path.join(outputs, "training_state.json")
    if os.path.exists(state):
        put(os.path.join(seeds, "state"), "training_state.json", open(state, "rb").read())
    put(os.path.join(seeds, "state"), "minimal.json", b'{"version":1,"current_stage":1,"stages":[]}')
    ckpts = sorted(glob.glob(os.path.join(outputs, "checkpoints/*_last.ckpt")))
    if ckpts:
        ckpt_seeds(ckpts[0], os.path.join(seeds, "ckpt"))
    metrics = os.path.join(outputs, "logs/metrics.jsonl")
    if os.path.exists(metrics):
        for i, line in enumerate(open(metrics, "rb").read().splitlines()[:40]):
            put(os.path.join(seeds, "metrics"), "line%02d.json" % i, line)
    if os.path.exists(os.path.join(root, "data/cache/index.json")):
        cache_seeds(os.path.join(root, "data/cache"), os.path.join(seeds, "cache"))


if __name__ == "__main__":
    main()
