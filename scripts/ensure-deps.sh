#!/usr/bin/env bash
# Make sure the system packages Edge needs are present: PostgreSQL server binaries,
# redis-server, pkg-config and OpenSSL headers, python3 with venv (the
# API's contract test). As root with apt they are installed;
# otherwise one line names what is missing and how to install it.
# Usage: scripts/ensure-deps.sh [postgres] [redis] [build] [compose] [python] [load]
# (default: the first five; `compose` is docker-compose, which the tests use to
# validate docker-compose.yml; `load` is what scripts/load.sh needs besides).
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(postgres redis build compose python)
missing=()

have_postgres() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && return 0
  done
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}
have_redis() { command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; }

for want in "${wanted[@]}"; do
  case "$want" in
    postgres) [ -n "${TEST_DATABASE_URL:-}" ] || have_postgres || missing+=(postgresql) ;;
    redis) [ -n "${TEST_REDIS_URL:-}" ] || have_redis || missing+=(redis-server) ;;
    build)
      command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
      pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
      ;;
    compose) command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose) ;;
    python)
      # scripts/pytools.sh makes a virtual environment (ensurepip is in
      # Debian's python3-venv).
      command -v python3 >/dev/null 2>&1 || missing+=(python3)
      python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
      ;;
    load)
      command -v wrk >/dev/null 2>&1 || missing+=(wrk)
      command -v curl >/dev/null 2>&1 || missing+=(curl)
      command -v taskset >/dev/null 2>&1 && command -v chrt >/dev/null 2>&1 || missing+=(util-linux)
      ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing missing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The packages' own services (a default cluster on 5432, redis on 6379) are not
  # used: Edge starts private servers on free ports.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "error: missing system packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
