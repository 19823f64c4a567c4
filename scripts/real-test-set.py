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

`voices.csv` lists each song's voice clips and accompaniment layers; `accompaniment.csv` says
whether its accompaniment is only drums, percussion and bass samples ("drums-bass") or has a
tonal layer ("tonal": guitars, pads, drones, xylophones, loops with melody), for `svs compare
--by-group --groups accompaniment.csv`. With `--categories`, songs come per voice category, named
`<category>-NNNN`, so `svs compare --by-group` breaks every comparison down by category:
- singing: Scratch's sung phrases and "ooh"s (Media/Sounds/Vocals without the beatbox);
- speech: spoken Czech dialogue from Fish Fillets NG (Debian `fillets-ng-data-cs`, GPL-2+) and
  spoken words in about 20 languages from KTuberling (`ktuberling-data`, GPL-2+);
- choir: the few choir samples of the evaluation-only packages: Sonic Pi's `ambi_choir` and
  LMMS's `*choir*` pads (`lmms-common`, GPL-2+): four clips, so these songs repeat them;
- beatbox: Scratch's two beatbox clips and two human-beatbox loops.

Each song (seeded, reproducible): two instrument layers looped to the song's length from random
offsets at -6..0 dB; vocal clips placed one after another with 0.2-1.5 s gaps at -3..+3 dB; the
vocals set to -10..+5 dB against the accompaniment (RMS over the song), then both scaled alike so
the mixture peaks at 0.9. 44.1 kHz mono. A benchmark input: not in the test suite or CI.

    python3 scripts/real-test-set.py --out data/real-test --songs 24 --seconds 12 --seed 7
    python3 scripts/real-test-set.py --out data/real-test-by-voice --categories singing,speech,choir,beatbox \
        --songs 8 --seconds 12 --seed 8

It downloads the packages it needs with `apt-get download` into --cache (a registry; nothing else is
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
# The packages the voice categories add.
CATEGORY_PACKAGES = ("fillets-ng-data-cs", "ktuberling-data", "lmms-common")
CATEGORIES = ("singing", "speech", "choir", "beatbox")
# Sonic Pi samples whose sound is a voice or voice-like: kept out of the accompaniment.
VOICE_LIKE = {"choir", "voxy", "haunted"}


def unpack(cache, packages):
    """Extracts each package into cache/root once (a marker file records it)."""
    root = cache / "root"
    root.mkdir(parents=True, exist_ok=True)
    for package in packages:
        marker = root / f".unpacked-{package}"
        if marker.exists():
            continue
        debs = list(cache.glob(f"{package}_*.deb"))
        if not debs:
            subprocess.run(["apt-get", "download", package], cwd=cache, check=True)
            debs = list(cache.glob(f"{package}_*.deb"))
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        marker.touch()
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


def category_voices(root, voices):
    """The clips of each voice category (see the header)."""
    share = root / "usr/share"
    beatbox = [p for p in voices if "beatbox" in p.name.lower()]
    singing = [p for p in voices if p not in beatbox]
    speech = sorted(share.glob("games/fillets-ng/sound/*/cs/*.ogg")) + sorted(share.glob("ktuberling/sounds/*/*.ogg"))
    choir = sorted(share.glob("sonic-pi*/**/samples/ambi_choir.*")) + sorted(share.glob("lmms/samples/**/*choir*"))
    return {"singing": singing, "speech": speech, "choir": choir, "beatbox": beatbox}


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


# Accompaniment layers that are drums or percussion (Scratch's and Sonic Pi's names); with the bass
# samples ("bass_*") they make a "drums-bass" accompaniment, anything else a "tonal" one.
PERCUSSION = ("drum_", "loop_amen", "loop_perc", "loop_tabla", "loop_safari", "loop_3d_printer", "Drum", "HipHop",
              "Jungle")


def accompaniment_kind(layers):
    """"drums-bass" when every layer is percussion or a bass sample, else "tonal"."""
    return "drums-bass" if all(l.startswith(PERCUSSION + ("bass_",)) for l in layers) else "tonal"


def song(rng, voices, instruments, length, used=None, layers=None):
    accompaniment = np.zeros(length, np.float32)
    for path in rng.choice(instruments, size=2, replace=False):
        if layers is not None:
            layers.append(path.name)
        layer = load(path)
        layer = np.tile(layer, length // max(1, len(layer)) + 2)
        start = rng.integers(0, len(layer) - length)
        accompaniment += layer[start : start + length] * db(rng.uniform(-6, 0))
    vocals = np.zeros(length, np.float32)
    at = int(rng.uniform(0, 1.0) * RATE)
    while at < length:
        path = rng.choice(voices)
        if used is not None:
            used.append(path.name)
        clip = load(path) * db(rng.uniform(-3, 3))
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
    parser.add_argument("--songs", type=int, default=24, help="songs (per category with --categories)")
    parser.add_argument("--categories", help=f"comma-separated voice categories from {','.join(CATEGORIES)}")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/svs/real-sources")
    args = parser.parse_args()
    categories = args.categories.split(",") if args.categories else []
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        sys.exit(f"unknown categories {unknown}: choose from {', '.join(CATEGORIES)}")
    root = unpack(args.cache, PACKAGES + (CATEGORY_PACKAGES if categories else ()))
    voices, instruments = sources(root)
    if not voices or not instruments:
        sys.exit(f"no voices or no instruments under {root}")
    pools = category_voices(root, voices)
    for category in categories:
        if not pools[category]:
            sys.exit(f"no {category} clips under {root}")
    rng = np.random.default_rng(args.seed)
    length = int(args.seconds * RATE)
    plan = [(c, i) for c in categories for i in range(args.songs)] or [("real", i) for i in range(args.songs)]
    listing = ["song,category,vocals_db,clips,accompaniment"]
    kinds = ["song,accompaniment"]
    for category, i in plan:
        used, layers = [], []
        pool = voices if category == "real" else pools[category]
        vocals, accompaniment, level = song(rng, pool, instruments, length, used, layers)
        folder = args.out / "test" / f"{category}-{i:04}"
        folder.mkdir(parents=True, exist_ok=True)
        silence = np.zeros_like(vocals)
        for name, x in (("mixture", vocals + accompaniment), ("vocals", vocals), ("other", accompaniment),
                        ("drums", silence), ("bass", silence)):
            soundfile.write(folder / f"{name}.wav", x, RATE, subtype="FLOAT")
        print(f"{folder.name}: vocals at {level:+.1f} dB against the accompaniment", flush=True)
        listing.append(f"{folder.name},{category},{level:.2f},{' '.join(used)},{' '.join(layers)}")
        kinds.append(f"{folder.name},{accompaniment_kind(layers)}")
    (args.out / "train").mkdir(exist_ok=True)
    (args.out / "voices.csv").write_text("\n".join(listing) + "\n")
    (args.out / "accompaniment.csv").write_text("\n".join(kinds) + "\n")


if __name__ == "__main__":
    main()
