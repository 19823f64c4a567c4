#!/usr/bin/env python3
"""Issue #20: which recorded music tracks are instrumental, judged by Spleeter.

A music layer (`svs synth --music-clips`) is counted as accompaniment, so a track with a choir or
a singer in it would teach the separator that voices are accompaniment. This runs Deezer's
Spleeter 2-stem model (as `scripts/spleeter-peer.py`, whose environment it needs) on every audio
file under `--dir` and measures, per 1 s frame, how much of the frame's energy Spleeter calls
vocals. A track is kept as instrumental when no more than `--max-voiced` of its frames (default
2 %) have Spleeter's vocals within `--frame-db` (default -10 dB) of the mixture. Prints a CSV
(file, voiced share, vocal-to-mixture energy in dB, kept) and writes the kept files' paths,
relative to `--dir`, to `--keep` (e.g. `scripts/instrumental-music.txt`, which
`scripts/fetch-training-sources` links into `data/sources/music`). A screening script run once
by hand: not in the test suite or CI. Spleeter misses some voices and hears voices in some
instruments; the threshold errs towards leaving tracks out.
"""

import argparse
import importlib.util
import os
import pathlib

import numpy as np
import soundfile

EXTENSIONS = {".wav", ".ogg", ".flac"}


def spleeter_peer():
    path = pathlib.Path(__file__).with_name("spleeter-peer.py")
    spec = importlib.util.spec_from_file_location("spleeter_peer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=pathlib.Path)
    parser.add_argument("--keep", required=True, type=pathlib.Path)
    parser.add_argument("--frame-db", type=float, default=-10.0)
    parser.add_argument("--max-voiced", type=float, default=0.02)
    args = parser.parse_args()
    peer = spleeter_peer()
    estimator = peer.load_estimator()
    files = sorted(
        pathlib.Path(root) / name
        for root, _, names in os.walk(args.dir, followlinks=True)
        for name in names
        if pathlib.Path(name).suffix.lower() in EXTENSIONS
    )
    kept = []
    print("file,voiced_share,vocals_db,kept")
    for path in files:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
        vocals, _ = peer.separate(estimator, audio, rate)
        frame = rate
        frames = len(audio) // frame
        mix_e = (audio[: frames * frame] ** 2).reshape(frames, -1).sum(axis=1)
        voc_e = (vocals[: frames * frame] ** 2).reshape(frames, -1).sum(axis=1)
        loud = mix_e > mix_e.max() * 1e-4
        ratio_db = 10 * np.log10(np.maximum(voc_e[loud], 1e-12) / np.maximum(mix_e[loud], 1e-12))
        voiced = float((ratio_db > args.frame_db).mean()) if loud.any() else 0.0
        total_db = 10 * np.log10(max(float(voc_e.sum()), 1e-12) / max(float(mix_e.sum()), 1e-12))
        keep = voiced <= args.max_voiced
        relative = path.relative_to(args.dir)
        print(f"{relative},{voiced:.3f},{total_db:.1f},{int(keep)}", flush=True)
        if keep:
            kept.append(str(relative))
    args.keep.write_text("".join(f"{k}\n" for k in kept))
    print(f"# {len(kept)} of {len(files)} files kept -> {args.keep}")


if __name__ == "__main__":
    main()
