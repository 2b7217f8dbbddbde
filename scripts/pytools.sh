#!/usr/bin/env bash
# Run a Python test tool — `schemathesis` or `openapi-spec-validator` — pinned
# with everything it needs in scripts/pytools-requirements.txt, from a virtual
# environment this script makes once from PyPI (under target/, reused until the
# pins change).
# Usage: scripts/pytools.sh schemathesis run URL | openapi-spec-validator FILE
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
requirements="$root/scripts/pytools-requirements.txt"
pins="$(sha256sum "$requirements" | cut -c1-12)"
venv="${PYTOOLS_VENV:-$root/target/pytools-$pins}"

case "${1:-}" in
  schemathesis | openapi-spec-validator) ;;
  *)
    echo "usage: $0 schemathesis ARGS... | openapi-spec-validator ARGS..." >&2
    exit 2
    ;;
esac

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
  echo "installing the pinned Python test tools into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    -r "$requirements" >&2
  touch "$venv/.installed"
fi
tool="$1"
shift
exec "$venv/bin/$tool" "$@"
