#!/usr/bin/env bash
# The side-by-side speed comparison of docs/BENCHMARKS.md ("Evaluation speed"): three museval
# runs, each followed by three `svs eval` runs on the same folders. Run it on an idle machine.
#   scripts/bench_eval_vs_museval.sh REF_DIR EST_DIR [PYTHON]
# PYTHON is a Python with museval 0.4.1 and soundfile (default /tmp/musevalenv/bin/python; see
# scripts/bench_museval.py for how to make one). Not used by the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
refs="$1" ests="$2" python="${3:-/tmp/musevalenv/bin/python}"
svs="$CARGO_TARGET_DIR/debug/svs"
for _ in 1 2 3; do
  "$python" "$here/bench_museval.py" "$refs" "$ests" | tail -1
  for _ in 1 2 3; do
    /usr/bin/time -f "svs: %e s wall, CPU %U + %S s" "$svs" eval --references "$refs" --estimates "$ests" > /dev/null
  done
done
