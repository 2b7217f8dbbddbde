#!/usr/bin/env bash
# Write .env with random passwords for docker-compose.yml (which has no defaults
# for secrets). Keeps the values an existing .env has; it is never copied into
# the image (.dockerignore) and should not be committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
random() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
umask 077
touch .env
added=()
# Keeps what .env has; adds the passwords it lacks (an .env from before the
# monitoring profile gets GRAFANA_ADMIN_PASSWORD).
for name in POSTGRES_PASSWORD EDGE_DB_PASSWORD REDIS_PASSWORD GRAFANA_ADMIN_PASSWORD; do
  if ! grep -q "^$name=" .env; then
    echo "$name=$(random)" >> .env
    added+=("$name")
  fi
done
if [ ${#added[@]} -eq 0 ]; then
  echo ".env has every password; leaving it as it is" >&2
else
  echo "wrote ${added[*]} to .env (mode 0600), random" >&2
fi
