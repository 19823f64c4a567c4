"""Times museval (BSS Eval v4, 1 s windows at 16 kHz) on a folder in `svs eval`'s layout, for
the side-by-side speed comparison in docs/BENCHMARKS.md. Not used by the tests. Prints the
wall time of `museval.evaluate` (file loading excluded) and its CPU time, which a loaded
machine disturbs less.

    python3 -m venv /tmp/musevalenv && /tmp/musevalenv/bin/pip install museval==0.4.1 soundfile
    /tmp/musevalenv/bin/python scripts/bench_museval.py REF_DIR EST_DIR
"""
import sys
import time
import types
from pathlib import Path

import numpy as np
import soundfile as sf

try:
    import museval
except Exception:  # museval imports musdb, which wants ffmpeg; evaluate() does not need it
    sys.modules["musdb"] = types.ModuleType("musdb")
    import museval

refs, ests = Path(sys.argv[1]), Path(sys.argv[2])
total = cpu = 0.0
for track in sorted(p for p in refs.iterdir() if p.is_dir()):
    load = lambda d: np.stack([sf.read(d / f"{s}.wav", dtype="float64")[0] for s in ("vocals", "accompaniment")])
    r, e = load(track), load(ests / track.name)
    start, start_cpu = time.perf_counter(), time.process_time()
    sdr, isr, sir, sar = museval.evaluate(r[..., None], e[..., None], win=16000, hop=16000)
    took = time.perf_counter() - start
    total += took
    cpu += time.process_time() - start_cpu  # all of the process's threads (BLAS included)
    print(f"{track.name}: {took:.2f} s, median SDR vocals {np.nanmedian(sdr[0]):.2f} dB")
print(f"museval total: {total:.2f} s (CPU time {cpu:.2f} s)")
