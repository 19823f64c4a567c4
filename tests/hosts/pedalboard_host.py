"""The plugin in pedalboard (Spotify's Python host, built on JUCE): loads the VST3 bundle, and in
both latency modes processes a stereo song at 48 kHz with the latency the plugin reports
(pedalboard compensates it), so that 0 dB / 0 dB gives the input back and vocals at -inf change
the output.

Run by tests/tests/plugin.rs: python3 pedalboard_host.py BUNDLE QUALITY_LATENCY LIVE_LATENCY
"""

import sys

import numpy as np
import pedalboard

bundle, quality_latency, live_latency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rate = 48000
t = np.arange(4 * rate) / rate
song = np.stack(
    [
        0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 3100 * t),
        0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * np.sin(2 * np.pi * 2700 * t),
    ]
).astype(np.float32)

for mode, latency in [("Quality (1.5 s)", quality_latency), ("Live (under 100 ms)", live_latency)]:
    plugin = pedalboard.load_plugin(bundle)
    assert plugin.name == "svs Vocal Separator", plugin.name
    plugin.latency = mode
    assert plugin.latency == mode, plugin.latency
    unity = plugin(song, rate)
    reported = plugin.reported_latency_samples
    assert reported == latency, f"{mode}: reported {reported} samples, expected {latency}"
    assert unity.shape == song.shape, f"{mode}: {unity.shape}"
    err = float(np.abs(unity - song).max())
    assert err < 1e-5, f"{mode}: 0 dB / 0 dB differs from the input by {err}"
    plugin.vocals_db = -60.0
    off = plugin(song, rate)
    change = float(np.sqrt(((off - song) ** 2).mean()))
    assert change > 1e-3, f"{mode}: vocals at -inf changed nothing ({change})"
    print(f"pedalboard, {mode}: latency {reported} samples, unity error {err:.1e}, vocals off change {change:.3f} RMS")
