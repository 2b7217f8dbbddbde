#!/usr/bin/env bash
# Run Schemathesis, pinned with everything it needs in
# scripts/schemathesis-requirements.txt, from a virtual environment this script
# makes once from PyPI (under target/, reused until the pins change).
# Usage: scripts/schemathesis.sh <schemathesis arguments>, e.g. `run URL`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
requirements="$root/scripts/schemathesis-requirements.txt"
pins="$(sha256sum "$requirements" | cut -c1-12)"
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-$pins}"

if [ ! -f "$venv/.installed" ]; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is missing; install it with: sudo apt-get install python3 python3-venv" >&2
    exit 1
  fi
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >&2; then
    echo "error: python3 cannot make a virtual environment; install it with: sudo apt-get install python3-venv" >&2
    exit 1
  fi
  echo "installing Schemathesis into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    -r "$requirements" >&2
  touch "$venv/.installed"
fi
exec "$venv/bin/schemathesis" "$@"
