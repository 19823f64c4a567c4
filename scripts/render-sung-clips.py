#!/usr/bin/env python3
"""Issue #20: sung training clips from Sinsy, an HMM singing-voice synthesiser (PyPI `pysinsy`
0.0.5, built from its sdist offline; it bundles the HTS voice `nitech_jp_song070_f001`, a female
Japanese singer, CC-BY-3.0, by the Nagoya Institute of Technology).

Writes `--clips` random sung phrases (Japanese syllables on a random melody in the singer's
range, legato and staccato notes, a random tempo) as 16-bit mono WAV files into `--out`, for
`svs synth --voice-clips` (which re-pitches every clip onto the song's melody, as it does with
recorded speech). Seeded: the same arguments give the same clips. Run once; the Rust build never
needs it. Needs a Python with pysinsy (`scripts/fetch-training-sources` makes one).
"""

import argparse
import os
import random
import sys
import tempfile
import wave

# The singer's comfortable range (MIDI), about G3 to E5.
LOW, HIGH = 55, 76
# Japanese morae the singer's dictionary knows (hiragana).
MORAE = list(
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわ"
    "がぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽ"
) + ["ん"]
STEPS = ["C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B"]
ALTERS = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0]
TYPES = {1: "16th", 2: "eighth", 3: "eighth", 4: "quarter", 6: "quarter", 8: "half", 12: "half", 16: "whole"}
DIVISIONS = 4  # per quarter note: durations are in sixteenths


def note_xml(midi, sixteenths, lyric):
    if midi is None:
        body = "<rest/>"
    else:
        step, alter, octave = STEPS[midi % 12], ALTERS[midi % 12], midi // 12 - 1
        body = f"<pitch><step>{step}</step>{f'<alter>{alter}</alter>' if alter else ''}<octave>{octave}</octave></pitch>"
    dot = "<dot/>" if sixteenths in (3, 6, 12) else ""
    text = f"<lyric><text>{lyric}</text></lyric>" if lyric else ""
    return f"<note>{body}<duration>{sixteenths}</duration><type>{TYPES[sixteenths]}</type>{dot}{text}</note>"


def note_values(sixteenths):
    """`sixteenths` as note values that have a symbol, longest first."""
    out = []
    for value in sorted(TYPES, reverse=True):
        while sixteenths >= value:
            out.append(value)
            sixteenths -= value
    return out


def phrase_xml(rng):
    """One phrase: 4-14 notes moving mostly by step around a random centre, one rest inside
    sometimes."""
    tempo = rng.randint(70, 150)
    centre = rng.randint(LOW + 4, HIGH - 4)
    midi = centre
    events = [(None, 4)]  # a beat of silence before the phrase
    for _ in range(rng.randint(4, 14)):
        midi = min(HIGH, max(LOW, midi + rng.choice([-4, -2, -2, -1, 0, 0, 1, 2, 2, 3, 5, -5])))
        length = rng.choice([2, 2, 4, 4, 4, 6, 8, 8, 12])
        events.append((midi, length))
        if rng.random() < 0.1:
            events.append((None, 2))
    events.append((None, 4))
    # Into 4/4 measures: a note that would cross a bar line is shortened to end on it, and a
    # length with no single note value becomes the longest one that fits plus rests.
    measures, current, used = [], [], 0
    for midi, length in events:
        length = min(length, 16 - used)
        pieces = note_values(length)
        current.append((midi, pieces[0]))
        current.extend((None, piece) for piece in pieces[1:])
        used += length
        if used == 16:
            measures.append(current)
            current, used = [], 0
    if used:
        current.extend((None, piece) for piece in note_values(16 - used))
        measures.append(current)
    parts = []
    for number, notes in enumerate(measures, start=1):
        head = ""
        if number == 1:
            head = (
                f"<attributes><divisions>{DIVISIONS}</divisions><key><fifths>0</fifths></key>"
                "<time><beats>4</beats><beat-type>4</beat-type></time></attributes>"
                f'<direction placement="above"><sound tempo="{tempo}"/></direction>'
            )
        body = "".join(note_xml(m, l, rng.choice(MORAE) if m is not None else None) for m, l in notes)
        parts.append(f'<measure number="{number}">{head}{body}</measure>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.0">'
        '<part-list><score-part id="P1"><part-name>Voice</part-name></score-part></part-list>'
        f'<part id="P1">{"".join(parts)}</part></score-partwise>'
    )


def write_wav(path, samples, rate):
    peak = max(1e-9, max(abs(v) for v in samples))
    scale = 0.9 * 32767 / peak
    data = b"".join(int(round(v * scale)).to_bytes(2, "little", signed=True) for v in samples)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the clips (created)")
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    try:
        import pysinsy
    except ImportError as e:
        sys.exit(f"render-sung-clips: pysinsy is not importable ({e}); see scripts/fetch-training-sources")
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        score = os.path.join(tmp, "phrase.xml")
        for i in range(args.clips):
            xml = phrase_xml(rng)
            path = os.path.join(args.out, f"sinsy-{args.seed}-{i:04}.wav")
            if os.path.exists(path):
                continue
            with open(score, "w", encoding="utf-8") as f:
                f.write(xml)
            samples, rate = pysinsy.synthesize(score)
            if len(samples) == 0:
                sys.exit(f"render-sung-clips: Sinsy returned no audio for phrase {i}")
            write_wav(path + ".partial", list(samples), int(rate))
            os.replace(path + ".partial", path)
    print(f"{args.out}: {args.clips} sung clips")


if __name__ == "__main__":
    main()
