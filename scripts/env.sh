# Shared settings for the project's scripts (sourced, not run).
# One target directory under ~/.cache, shared by every checkout and by CI, so a fresh clone
# reuses earlier builds of burn (a cold build of burn alone takes over 15 minutes here).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/svs/target}"
SVS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SVS_ROOT
