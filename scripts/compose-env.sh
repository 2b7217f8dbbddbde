#!/usr/bin/env bash
# Write .env with random passwords for docker-compose.yml (which has no defaults
# for secrets). Keeps an existing .env; it is never copied into the image
# (.dockerignore) and should not be committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -e .env ]; then
  echo ".env exists; leaving it as it is" >&2
  exit 0
fi
random() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
umask 077
{
  echo "POSTGRES_PASSWORD=$(random)"
  echo "EDGE_DB_PASSWORD=$(random)"
  echo "REDIS_PASSWORD=$(random)"
} > .env
echo "wrote .env (mode 0600) with random passwords" >&2
