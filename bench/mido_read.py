#!/usr/bin/env python3
"""Reference for bench/data_pipeline.c: time reading every MIDI file under
DATA/midi with mido (Debian's python3-mido) and pairing note on/off events
into notes, the same work aurl's reader does. Prints files/s and MB/s, and
with --json a final JSON object."""
import json
import os
import sys
import time

import mido


def notes_of(path):
    mid = mido.MidiFile(path)
    sounding, n = {}, 0
    t = 0.0
    for msg in mid:  # merged tracks, times in seconds through the tempo map
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[(msg.channel, msg.note)] = t
        elif msg.type in ("note_off", "note_on"):
            if sounding.pop((msg.channel, msg.note), None) is not None:
                n += 1
    return n


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    data = args[0] if args else "data"
    paths = []
    for root, _, files in os.walk(os.path.join(data, "midi")):
        paths += [os.path.join(root, f) for f in files if f.lower().endswith(".mid")]
    size = sum(os.path.getsize(p) for p in paths)
    passes, ok = 3, 0
    start = time.perf_counter()
    for _ in range(passes):
        ok = 0
        for p in paths:
            try:
                notes_of(p)
                ok += 1
            except Exception:  # mido raises on malformed files
                pass
    secs = (time.perf_counter() - start) / passes
    print(f"mido {mido.__version__}: {len(paths)} files ({ok} read) in {secs * 1e3:.1f} ms, "
          f"{len(paths) / secs:.1f} files/s, {size / 1e6 / secs:.2f} MB/s")
    if "--json" in sys.argv:
        print(json.dumps({"files": len(paths), "read_files_per_s": len(paths) / secs,
                          "read_mb_per_s": size / 1e6 / secs}))


if __name__ == "__main__":
    main()
