#!/usr/bin/env python3
"""Generate the museval reference fixture for the Rust BSS Eval v4 port (train/src/eval).

The Rust tests never run Python: they read the committed fixture
`train/tests/fixtures/museval/cases.json` written by this script.

Regenerate (from the repository root; needs network once for pip):

    python3 -m venv /tmp/musevalenv
    /tmp/musevalenv/bin/pip install museval==0.4.1 numpy scipy
    /tmp/musevalenv/bin/python scripts/museval_fixture.py

museval's package __init__ imports musdb -> stempeg, which refuses to import without ffmpeg.
Nothing used here needs either, so when that import fails the script installs an empty
stand-in module for `musdb` and calls the real `museval.evaluate`.

Why signals are stored as recipes, not samples: one minute of 16 kHz audio, four signals, is
several megabytes even as 16-bit PCM. Instead every signal is an integer expression (seeded
SplitMix64 noise, sawtooth, integer FIR, gains, envelopes, mutes) that Python and Rust evaluate
bit-exactly with 64-bit integer arithmetic; the sample value is `int / 32768`. Each generated
channel also carries a checksum so the Rust side can prove it rebuilt the very samples museval
saw before it compares any metric.

Recipe operations (every expression yields `n_samples` integers; each channel is clamped to
[-32768, 32767] at the end):
    {"op": "noise", "seed": s}                      white noise: (splitmix64(s, i) >> 48) - 32768
    {"op": "saw", "period": p, "amp": a}            ((i mod p) * 2a) // p - a
    {"op": "fir", "input": e, "taps": [...], "shift": k}   causal integer FIR, then >> k
    {"op": "gain", "input": e, "num": g, "shift": k}        (x * g) >> k
    {"op": "envelope", "input": e, "seed": s, "segment": n} (x * g[i // n]) >> 8,
                                                    g[j] = splitmix64(s, j) >> 56
    {"op": "sum", "inputs": [e, ...]}
    {"op": "mute", "input": e, "start": a, "end": b} samples a..b (clamped to the length) set to 0
    {"op": "reference", "source": j, "channel": c}  a finished (clamped) reference channel
">>" is an arithmetic (flooring) shift and "//" floors, in both languages.

splitmix64(seed, i): state = seed + (i + 1) * 0x9E3779B97F4A7C15 (mod 2^64), then the standard
SplitMix64 finaliser. Checksum of a channel: sum over i of (x_i mod 2^64) * splitmix64(0, i),
mod 2^64, written as a decimal string.

Metrics are museval.evaluate(references, estimates, win, hop, mode="v4") per case (for a filter
length other than museval's 512, the museval.metrics.bss_eval call that evaluate makes, with
filters_len set), stored as [source][frame] lists with null for NaN and the strings
"inf"/"-inf" for infinities.
"""

import json
import os
import sys
import types

import numpy as np
import scipy

try:
    import museval
except Exception:  # stempeg needs ffmpeg at import time; museval.evaluate does not use it
    sys.modules["musdb"] = types.ModuleType("musdb")
    import museval

RATE = 16000
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "train", "tests", "fixtures", "museval", "cases.json",
)


def splitmix64(seed, count):
    """Vectorised SplitMix64 outputs for indices 0..count (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        idx = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed & MASK) + idx * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def evaluate_expr(expr, n, references):
    op = expr["op"]
    if op == "noise":
        return (splitmix64(expr["seed"], n) >> np.uint64(48)).astype(np.int64) - 32768
    if op == "saw":
        i = np.arange(n, dtype=np.int64)
        p, a = expr["period"], expr["amp"]
        return ((i % p) * (2 * a)) // p - a
    if op == "fir":
        x = evaluate_expr(expr["input"], n, references)
        taps = np.asarray(expr["taps"], dtype=np.int64)
        return np.convolve(x, taps)[:n] >> expr["shift"]
    if op == "gain":
        x = evaluate_expr(expr["input"], n, references)
        return (x * expr["num"]) >> expr["shift"]
    if op == "envelope":
        x = evaluate_expr(expr["input"], n, references)
        seg = expr["segment"]
        gains = (splitmix64(expr["seed"], n // seg + 1) >> np.uint64(56)).astype(np.int64)
        return (x * gains[np.arange(n) // seg]) >> 8
    if op == "sum":
        out = np.zeros(n, dtype=np.int64)
        for e in expr["inputs"]:
            out = out + evaluate_expr(e, n, references)
        return out
    if op == "mute":
        x = evaluate_expr(expr["input"], n, references).copy()
        x[min(expr["start"], n):min(expr["end"], n)] = 0
        return x
    if op == "reference":
        return references[expr["source"]][expr["channel"]]
    raise ValueError(f"unknown op {op}")


def build(sources, n, references=None):
    out = []
    for channels in sources:
        out.append([np.clip(evaluate_expr(e, n, references), -32768, 32767) for e in channels])
    return out


def checksum(x):
    with np.errstate(over="ignore"):
        return str(int(np.sum(x.astype(np.uint64) * splitmix64(0, len(x)), dtype=np.uint64)))


def to_float(sources):
    """[source][channel] int arrays -> museval layout (nsrc, nsampl, nchan) float64."""
    return np.stack([np.stack(chs, axis=-1) for chs in sources]).astype(np.float64) / 32768.0


def encode(values):
    out = []
    for v in values:
        v = float(v)
        if np.isnan(v):
            out.append(None)
        elif np.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


# ---- building blocks for the cases ---------------------------------------------------------

def noise(seed):
    return {"op": "noise", "seed": seed}


def gain(e, num, shift):
    return {"op": "gain", "input": e, "num": num, "shift": shift}


def fir(e, taps, shift):
    return {"op": "fir", "input": e, "taps": taps, "shift": shift}


def total(*es):
    return {"op": "sum", "inputs": list(es)}


def mute(e, start_s, end_s):
    return {"op": "mute", "input": e, "start": int(round(start_s * RATE)), "end": int(round(end_s * RATE))}


def ref(j, c=0):
    return {"op": "reference", "source": j, "channel": c}


def music_like(seed, period, lowpass=True):
    """Coloured noise with a varying envelope plus a sawtooth: broadband (a well-conditioned
    correlation matrix, as real mixtures give) but not stationary."""
    taps = [1, 3, 4, 3, 1] if lowpass else [3, -1, 2]
    coloured = fir(noise(seed), taps, 3)
    env = {"op": "envelope", "input": coloured, "seed": seed + 1, "segment": 4000}
    saw = {"op": "envelope", "input": {"op": "saw", "period": period, "amp": 6000},
           "seed": seed + 2, "segment": 8000}
    return total(env, saw)


def leaky_estimate(j, other, leak_num, noise_seed, noise_num):
    """Reference j plus some of another source plus white noise."""
    return total(ref(j), gain(ref(other), leak_num, 8), gain(noise(noise_seed), noise_num, 8))


def cases():
    out = []

    def add(name, seconds, refs, ests, win=RATE, hop=RATE, filter_len=512, note=""):
        out.append({"name": name, "n_samples": int(round(seconds * RATE)), "window": win,
                    "hop": hop, "filter_len": filter_len, "note": note,
                    "references": refs, "estimates": ests})

    add("silent_reference", 10.0,
        [[mute(music_like(10, 91), 2.0, 4.0)],
         [mute(mute(music_like(20, 57, False), 5.0, 6.0), 6.5, 7.0)]],
        [[leaky_estimate(0, 1, 40, 30, 30)], [leaky_estimate(1, 0, 25, 31, 60)]],
        note="reference 0 silent in seconds 2-3, reference 1 in second 5 (NaN frames) and "
             "half of second 6 (not NaN)")
    add("silent_estimate", 8.0,
        [[music_like(40, 73)], [music_like(50, 111, False)]],
        [[mute(leaky_estimate(0, 1, 30, 60, 40), 6.25, 6.75)],
         [mute(leaky_estimate(1, 0, 50, 61, 20), 3.0, 5.0)]],
        note="estimate 1 silent in seconds 3-4 (NaN frames), estimate 0 in half of second 6")
    add("filtered", 8.0,
        [[music_like(70, 67)], [music_like(80, 149, False)]],
        [[total(fir(ref(0), [0] * 37 + [5, 9, -3, 2, 1], 3), gain(ref(1), 3, 8),
                gain(noise(90), 1, 10))],
         [total(fir(ref(1), [7, 0, 0, -2, 0, 1], 3), gain(noise(91), 1, 10))]],
        note="estimates are FIR-filtered references (delay 37 and 0) plus tiny leak and noise")
    add("heavy_noise", 6.0,
        [[music_like(100, 83)], [music_like(110, 131, False)]],
        [[total(ref(0), gain(noise(120), 900, 8))],
         [total(gain(ref(1), 200, 8), gain(ref(0), 100, 8), gain(noise(121), 700, 8))]],
        note="noise far louder than the source: negative SDR")
    add("fractional_length", 7.3,
        [[music_like(130, 79)], [music_like(140, 101, False)]],
        [[leaky_estimate(0, 1, 60, 150, 50)], [leaky_estimate(1, 0, 45, 151, 35)]],
        note="7.3 s: museval drops the trailing 0.3 s from the frames (but not from the filters)")
    add("shorter_than_window", 0.6,
        [[music_like(160, 61)], [music_like(170, 89, False)]],
        [[leaky_estimate(0, 1, 50, 180, 50)], [leaky_estimate(1, 0, 50, 181, 50)]],
        note="one frame covering the whole 0.6 s")
    add("overlapping_frames", 5.0,
        [[music_like(190, 71)], [mute(music_like(200, 97, False), 2.0, 3.0)]],
        [[leaky_estimate(0, 1, 35, 210, 45)], [leaky_estimate(1, 0, 55, 211, 25)]],
        win=RATE, hop=RATE // 2,
        note="hop of half a window; reference 1 silent in 2.0-3.0 s")
    add("gapped_frames", 6.0,
        [[music_like(330, 59)], [music_like(340, 93, False)]],
        [[leaky_estimate(0, 1, 45, 350, 35)], [leaky_estimate(1, 0, 30, 351, 60)]],
        win=RATE, hop=3 * RATE // 2, note="hop longer than the window: frames with gaps")
    add("short_filters", 4.0,
        [[music_like(360, 81)], [music_like(370, 119, False)]],
        [[total(fir(ref(0), [0] * 20 + [6, -2, 1], 3), gain(ref(1), 40, 8), gain(noise(380), 30, 8))],
         [leaky_estimate(1, 0, 50, 381, 40)]],
        win=RATE // 2, hop=RATE // 2, filter_len=64,
        note="64-tap filters, half-second frames (museval.metrics.bss_eval, as evaluate calls it)")
    add("three_sources", 5.0,
        [[music_like(220, 65)], [music_like(230, 103, False)], [fir(noise(240), [1, 1], 1)]],
        [[total(ref(0), gain(ref(1), 30, 8), gain(ref(2), 20, 8))],
         [total(ref(1), gain(ref(2), 40, 8), gain(noise(250), 30, 8))],
         [total(ref(2), gain(ref(0), 60, 8), gain(noise(251), 50, 8))]])
    add("single_source", 3.0,
        [[music_like(260, 77)]],
        [[total(fir(ref(0), [6, 2], 3), gain(noise(270), 40, 8))]],
        note="one source: SIR is +inf (interference cannot exist)")
    add("stereo", 4.0,
        [[music_like(280, 69), total(gain(music_like(280, 69), 128, 8), gain(noise(281), 40, 8))],
         [music_like(290, 107, False), music_like(291, 53)]],
        [[total(ref(0, 0), gain(ref(1, 0), 30, 8), gain(noise(300), 30, 8)),
          total(ref(0, 1), gain(ref(1, 1), 30, 8), gain(noise(301), 30, 8))],
         [total(ref(1, 0), gain(ref(0, 1), 40, 8), gain(noise(302), 20, 8)),
          total(ref(1, 1), gain(ref(0, 0), 40, 8), gain(noise(303), 20, 8))]],
        note="two channels per source")
    add("long", 60.0,
        [[mute(music_like(310, 87), 20.0, 22.0)], [music_like(320, 113, False)]],
        [[leaky_estimate(0, 1, 45, 330, 40)],
         [mute(leaky_estimate(1, 0, 35, 331, 55), 41.0, 42.0)]],
        note="one minute; reference 0 silent in seconds 20-21, estimate 1 in second 41")
    return out


def main():
    result = {
        "generator": "scripts/museval_fixture.py",
        "museval": museval.__version__ if hasattr(museval, "__version__") else "0.4.1",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "rate": RATE,
        "cases": [],
    }
    for case in cases():
        n = case["n_samples"]
        refs = build(case["references"], n)
        ests = build(case["estimates"], n, refs)
        if case["filter_len"] == 512:
            sdr, isr, sir, sar = museval.evaluate(
                to_float(refs), to_float(ests), win=case["window"], hop=case["hop"], mode="v4")
        else:  # evaluate() has no filter length argument; this is the call it makes
            sdr, isr, sir, sar, _ = museval.metrics.bss_eval(
                to_float(refs), to_float(ests), window=case["window"], hop=case["hop"],
                compute_permutation=False, filters_len=case["filter_len"],
                framewise_filters=False, bsseval_sources_version=False)
        case = dict(case)
        case["checksums"] = {
            "references": [[checksum(c) for c in s] for s in refs],
            "estimates": [[checksum(c) for c in s] for s in ests],
        }
        case["museval"] = {
            "sdr": [encode(r) for r in sdr], "isr": [encode(r) for r in isr],
            "sir": [encode(r) for r in sir], "sar": [encode(r) for r in sar],
        }
        print(f"{case['name']}: {sdr.shape[1]} frames, median SDR "
              f"{[round(float(np.nanmedian(r)), 3) for r in sdr]}", file=sys.stderr)
        result["cases"].append(case)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
