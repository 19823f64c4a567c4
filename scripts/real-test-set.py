#!/usr/bin/env python3
"""Issue #20's real-recording test set, first version: real recorded voices over real recorded
instruments, at known gains, in MUSDB18-HQ's layout (`test/<song>/{mixture,vocals,drums,bass,
other}.wav`; the accompaniment is `other.wav`, drums and bass are silent).

Only evaluation-only sources (docs/DATASETS.md: never in training or validation data):
- voices: Scratch 1.4's recorded vocals (Debian `scratch`, Media/Sounds/Vocals and the two human
  beatbox loops: short sung phrases, "ooh"s, beatbox; the Scratch media are CC-BY-SA-3.0);
- instruments: Scratch's music loops and instrument sounds, and Sonic Pi's recorded loops, guitar,
  bass, drum and ambient samples (Debian `sonic-pi-samples`: per-file licences in its copyright
  file, mostly CC0), without the ones that sound like voices (choir, "voxy" basses, haunted hum).

Each song (seeded, reproducible): two instrument layers looped to the song's length from random
offsets at -6..0 dB; vocal clips placed one after another with 0.2-1.5 s gaps at -3..+3 dB; the
vocals set to -10..+5 dB against the accompaniment (RMS over the song), then both scaled alike so
the mixture peaks at 0.9. 44.1 kHz mono. A benchmark input: not in the test suite or CI.

    python3 scripts/real-test-set.py --out data/real-test --songs 24 --seconds 12 --seed 7

It downloads the two packages with `apt-get download` into --cache (a registry; nothing else is
fetched) unless they are there already. Needs numpy and soundfile (libsndfile decodes MP3).
"""

import argparse
import pathlib
import subprocess
import sys

import numpy as np
import soundfile

RATE = 44100
PACKAGES = ("scratch", "sonic-pi-samples")
# Sonic Pi samples whose sound is a voice or voice-like: kept out of the accompaniment.
VOICE_LIKE = {"choir", "voxy", "haunted"}


def unpack(cache):
    root = cache / "root"
    if not root.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        if not list(cache.glob("*.deb")):
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=cache, check=True)
        for deb in cache.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def sources(root):
    sounds = root / "usr/share/scratch/Media/Sounds"
    sonic = next((root / "usr/share").glob("sonic-pi*/**/samples"), None)
    loops = sounds / "Music Loops"
    voices = sorted((sounds / "Vocals").iterdir()) + sorted(loops.glob("HumanBeatbox*"))
    instruments = sorted(p for p in loops.iterdir() if not p.name.startswith("HumanBeatbox"))
    instruments += sorted((sounds / "Instruments").iterdir())
    if sonic is not None:
        for prefix in ("loop_", "guit_", "bass_", "drum_", "ambi_"):
            instruments += sorted(p for p in sonic.glob(prefix + "*") if not VOICE_LIKE.intersection(p.stem.split("_")))
    return voices, instruments


def load(path):
    """Mono at RATE (FFT resampling)."""
    x, rate = soundfile.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if rate != RATE:
        n = int(round(len(x) * RATE / rate))
        spectrum = np.fft.rfft(x)
        bins = n // 2 + 1
        spectrum = np.concatenate([spectrum, np.zeros(max(0, bins - len(spectrum)), spectrum.dtype)])[:bins]
        x = np.fft.irfft(spectrum, n=n) * (n / len(x))
    return x.astype(np.float32)


def db(gain):
    return 10 ** (gain / 20)


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


def song(rng, voices, instruments, length):
    accompaniment = np.zeros(length, np.float32)
    for path in rng.choice(instruments, size=2, replace=False):
        layer = load(path)
        layer = np.tile(layer, length // max(1, len(layer)) + 2)
        start = rng.integers(0, len(layer) - length)
        accompaniment += layer[start : start + length] * db(rng.uniform(-6, 0))
    vocals = np.zeros(length, np.float32)
    at = int(rng.uniform(0, 1.0) * RATE)
    while at < length:
        clip = load(rng.choice(voices)) * db(rng.uniform(-3, 3))
        end = min(length, at + len(clip))
        vocals[at:end] += clip[: end - at]
        at = end + int(rng.uniform(0.2, 1.5) * RATE)
    level = rng.uniform(-10, 5)
    vocals *= rms(accompaniment) * db(level) / rms(vocals)
    scale = 0.9 / max(1e-9, float(np.abs(vocals + accompaniment).max()))
    return vocals * scale, accompaniment * scale, level


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--songs", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/svs/real-sources")
    args = parser.parse_args()
    voices, instruments = sources(unpack(args.cache))
    if not voices or not instruments:
        sys.exit(f"no voices or no instruments under {args.cache / 'root'}")
    rng = np.random.default_rng(args.seed)
    length = int(args.seconds * RATE)
    for i in range(args.songs):
        vocals, accompaniment, level = song(rng, voices, instruments, length)
        folder = args.out / "test" / f"real-{i:04}"
        folder.mkdir(parents=True, exist_ok=True)
        silence = np.zeros_like(vocals)
        for name, x in (("mixture", vocals + accompaniment), ("vocals", vocals), ("other", accompaniment),
                        ("drums", silence), ("bass", silence)):
            soundfile.write(folder / f"{name}.wav", x, RATE, subtype="FLOAT")
        print(f"{folder.name}: vocals at {level:+.1f} dB against the accompaniment", flush=True)
    (args.out / "train").mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
