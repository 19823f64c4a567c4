#!/usr/bin/env python3
"""Issue #20's probe: how much of a voice-free input a model returns as vocals.

A separator should return silence as the vocals of an input with no voice in it. This writes
voice-free probe signals (white noise; one harmonic tone at 220 Hz, steady, with vibrato, with
tremolo; three such tones as an A-major chord, steady and with vibrato; 12 s at 16 kHz), adds the
accompaniment stems (`other.wav`) of a MUSDB18-HQ-layout test set if one is given (e.g. the
real-recording set of `scripts/real-test-set.py`, whose `accompaniment.csv` then names each
one's kind), separates them all with `svs separate`, and prints, for each input, the energy of
the returned vocals relative to the input's, in dB (0 dB: all of it called voice).

    python3 scripts/vocal-share-probe.py --model models/default.safetensors --test-set /tmp/real-test --out /tmp/probe

A benchmark script, not in the test suite or CI. Needs numpy and soundfile, and `svs` on the PATH
(or `--svs`). docs/results/real-voices.md ("Where the default fails") reports what it showed.
"""

import argparse
import csv
import pathlib
import subprocess

import numpy as np
import soundfile

RATE = 16000
SECONDS = 12


def tones(f0s, vibrato=0.0, tremolo=0.0):
    """Harmonic tones (8 partials, each 0.7 times the one below) at `f0s` Hz, summed."""
    t = np.arange(RATE * SECONDS) / RATE
    out = np.zeros_like(t)
    for f0 in f0s:
        phase = 2 * np.pi * np.cumsum(f0 * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))) / RATE
        out += sum(0.7**k * np.sin((k + 1) * phase) for k in range(8))
    return out * (1 + tremolo * np.sin(2 * np.pi * 4 * t))


def probes():
    return {
        "noise": np.random.default_rng(0).standard_normal(RATE * SECONDS),
        "tone-steady": tones([220]),
        "tone-vibrato": tones([220], vibrato=0.01),
        "tone-tremolo": tones([220], tremolo=0.5),
        "chord-steady": tones([220, 277.2, 329.6]),
        "chord-vibrato": tones([220, 277.2, 329.6], vibrato=0.01),
    }


def energy_db(x):
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the embedded model)")
    parser.add_argument("--test-set", type=pathlib.Path, help="a MUSDB18-HQ-layout folder whose test/*/other.wav join the probes")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--svs", default="svs")
    args = parser.parse_args()
    inputs = args.out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for name, x in probes().items():
        soundfile.write(inputs / f"{name}.wav", (0.1 * x / np.sqrt(np.mean(x**2))).astype(np.float32), RATE, subtype="FLOAT")
        kinds[name] = "synthetic"
    if args.test_set:
        listed = args.test_set / "accompaniment.csv"
        groups = {r["song"]: r["accompaniment"] for r in csv.DictReader(listed.open())} if listed.is_file() else {}
        for song in sorted((args.test_set / "test").iterdir()):
            x, rate = soundfile.read(song / "other.wav", dtype="float32")
            soundfile.write(inputs / f"{song.name}.wav", x, rate, subtype="FLOAT")
            kinds[song.name] = groups.get(song.name, "accompaniment")
    command = [args.svs, "separate", str(inputs), "-o", str(args.out / "separated"), "--bit-depth", "32f"]
    if args.model:
        command += ["--model", args.model]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    print("input,kind,vocals_share_db")
    for name, kind in kinds.items():
        x, _ = soundfile.read(inputs / f"{name}.wav")
        vocals, _ = soundfile.read(args.out / "separated" / name / "vocals.wav")
        print(f"{name},{kind},{energy_db(vocals) - energy_db(x):.1f}")


if __name__ == "__main__":
    main()
