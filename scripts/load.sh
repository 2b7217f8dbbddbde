#!/usr/bin/env bash
# Load test of the reference API through its full middleware stack, with wrk, next
# to two ceilings measured in the same run: a bare actix-web handler returning the
# same bytes, and `pgbench -S` on the same PostgreSQL at the same concurrency.
#
# The servers (PostgreSQL, the API, the bare handler) are pinned to one core and
# the load generators (wrk, pgbench) to another, so figures compare across runs.
# The API and the bare handler run as SCHED_BATCH (`chrt --batch`): sharing a core
# with PostgreSQL, a normal task preempts the database on every reply it is woken
# by, and the API's pipelined reads then cost a context switch each (uncached GET
# about 6k instead of 17k req/s here); SCHED=normal measures that case.
#
# Usage: scripts/load.sh
# Environment: DURATION (default 10s), CONNECTIONS (64), ROUNDS (5), SERVER_CPU (0),
#   CLIENT_CPU (1), SCHED (batch | normal), REPORT (target/load-report.md).
# Every round runs every scenario in turn; the report gives each one's median round
# (by req/s), since this kind of machine drifts by tens of percent within minutes.
# Installs what it needs (as root with apt) or names it; starts and removes its
# own PostgreSQL; prints a Markdown report and writes it to $REPORT.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
REPORT=${REPORT:-target/load-report.md}
SCHED=${SCHED:-batch}
SECRET="load-test secret of at least thirty-two bytes"

scripts/ensure-deps.sh postgres build load
echo "building (release)..." >&2
cargo build --release --locked -q -p reference-api --bin reference-api --example bare-handler

work=$(mktemp -d /tmp/edge-load.XXXXXX)
pids=()
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v initdb)")

# PostgreSQL refuses to run as root: then it runs as the `postgres` system user.
pg_user=()
[ "$(id -u)" = 0 ] && pg_user=(runuser -u postgres --)
as_pg() { "${pg_user[@]}" "$@"; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -d "$work/pg" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

wait_for() { # url
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "error: $1 did not answer" >&2
  return 1
}

# --- PostgreSQL on the server core -------------------------------------------
pg_port=$(free_port)
[ "$(id -u)" = 0 ] && chown postgres "$work"
as_pg "$pgbin/initdb" -D "$work/pg" -U edge --auth=trust -E UTF8 --no-sync >/dev/null
taskset -c "$SERVER_CPU" "${pg_user[@]}" "$pgbin/pg_ctl" -D "$work/pg" -w -l "$work/pg/server.log" \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
"$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U edge edge
"$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U edge pgbench
database_url="postgres://edge@127.0.0.1:$pg_port/edge"

# How the API and the bare handler are scheduled on the server core.
server_sched=()
case "$SCHED" in
  batch) server_sched=(chrt --batch 0) ;;
  normal) ;;
  *) echo "error: SCHED must be batch or normal, not $SCHED" >&2; exit 2 ;;
esac

# --- The reference API (one worker) on the server core -----------------------
api_port=$(free_port)
api="http://127.0.0.1:$api_port"
mkdir -p "$work/data"
taskset -c "$SERVER_CPU" "${server_sched[@]}" target/release/reference-api \
  --listen "127.0.0.1:$api_port" --workers 1 --database-url "$database_url" \
  --data-dir "$work/data" --jwt-secret "$SECRET" \
  --rate-limit-ip 1000000000/1m --rate-limit-user 1000000000/1m \
  --rate-limit-read 1000000000/1m --rate-limit-write 1000000000/1m \
  --cache-ttl 10m >"$work/api.stdout" 2>"$work/api.stderr" &
pids+=($!)
wait_for "$api/healthz"

post() { # path json [token]
  curl -fsS -X POST -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} \
    --data "$2" "$api$1"
}
post /api/auth/register '{"username":"loadtester","password":"correct horse battery"}' >/dev/null
# An admin, for the scenario that changes the live settings under load.
target/release/reference-api --database-url "$database_url" --data-dir "$work/data" \
  grant-admin loadtester >/dev/null
token=$(post /api/auth/login '{"username":"loadtester","password":"correct horse battery"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
for i in $(seq 1 100); do
  post /api/resources "{\"name\":\"resource $i\",\"description\":\"a resource for the load test\",\"tags\":[\"load\",\"t$i\"],\"data\":{\"n\":$i}}" "$token" >/dev/null
done
curl -fsS -H "authorization: Bearer $token" -D "$work/item.headers" -o "$work/item.json" "$api/api/resources/50"
etag=$(grep -i '^etag:' "$work/item.headers" | cut -d' ' -f2- | tr -d '\r')

# --- The bare handler (one worker) on the server core, same bytes -------------
bare_port=$(free_port)
taskset -c "$SERVER_CPU" "${server_sched[@]}" target/release/examples/bare-handler "127.0.0.1:$bare_port" "$work/item.json" 1 &
pids+=($!)
wait_for "http://127.0.0.1:$bare_port/"

cat >"$work/create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"created under load","description":"one more","tags":["load"],"data":{"k":1}}'
LUA

# Change the live settings every 100 ms (the cache TTL and a quota, alternating)
# until killed; a failed change is reported.
reconfigure_forever() {
  local i=0 ttl
  while :; do
    i=$((i + 1))
    ttl=$([ $((i % 2)) = 0 ] && echo 10m || echo 9m)
    curl -fsS -o /dev/null -X PUT -H 'content-type: application/json' \
      -H "authorization: Bearer $token" \
      --data "{\"cache_ttl\":\"$ttl\",\"rate_limits\":{\"read\":\"$((1000000000 - i))/1m\"}}" \
      "$api/api/admin/settings" || echo "settings change $i failed" >&2
    sleep 0.1
  done
}

mkdir -p "$work/results"
# run_wrk name url [extra wrk args...]: appends "req/s p50 p99 non-2xx/3xx socket-errors".
run_wrk() {
  local name=$1 url=$2
  shift 2
  local out
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
  local rps p50 p99 bad errors
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  errors=$(awk '/Socket errors:/ {gsub(/[ ,]+/, "_"); print}' <<<"$out")
  echo "$rps $p50 $p99 ${bad:-0} ${errors:--}" >>"$work/results/$name"
  echo "$name: $rps req/s, p50 $p50, p99 $p99, non-2xx/3xx ${bad:-0}" >&2
}

# run_pgbench: `pgbench -S` at the same concurrency; appends "tps avg <latency>".
"$pgbin/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$pg_port" -U edge pgbench >/dev/null 2>&1
run_pgbench() {
  local pgout tps pglat
  pgout=$(taskset -c "$CLIENT_CPU" "$pgbin/pgbench" -S -M prepared -c "$CONNECTIONS" -j 1 \
    -T "${DURATION%s}" -h 127.0.0.1 -p "$pg_port" -U edge pgbench 2>/dev/null)
  tps=$(awk '/^tps = / {printf "%d", $3; exit}' <<<"$pgout")
  pglat=$(awk '/^latency average/ {print $4 $5}' <<<"$pgout")
  echo "$tps avg $pglat" >>"$work/results/pgbench"
  echo "pgbench -S: $tps tps, latency average $pglat" >&2
}

# Each ceiling is measured next to the scenario it is compared with, in every
# round: the machine drifts by tens of percent within minutes, so the
# ratios are also given round by round.
scenarios=(bare cached list revalidate uncached create reconfigure)
auth=(-H "Authorization: Bearer $token")
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  run_wrk bare "http://127.0.0.1:$bare_port/api/resources/50"
  run_wrk cached "$api/api/resources/50" "${auth[@]}"
  run_wrk list "$api/api/resources?limit=20" "${auth[@]}"
  run_wrk revalidate "$api/api/resources/50" "${auth[@]}" -H "If-None-Match: $etag"
  run_wrk uncached "$api/api/resources/50" "${auth[@]}" -H "Cache-Control: no-store"
  run_pgbench
  run_wrk create "$api/api/resources" "${auth[@]}" -s "$work/create.lua"
  # The cached GET while the settings change ten times a second: no request may fail.
  taskset -c "$CLIENT_CPU" bash -c "$(declare -f reconfigure_forever); token='$token' api='$api' reconfigure_forever" &
  changer=$!
  run_wrk reconfigure "$api/api/resources/50" "${auth[@]}"
  kill "$changer" 2>/dev/null || true
  wait "$changer" 2>/dev/null || true
done

# The median round of a scenario (by req/s): "req/s p50 p99 non-2xx socket-errors".
median() { sort -n "$work/results/$1" | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
rows=()
for name in "${scenarios[@]}"; do
  read -r rps p50 p99 bad errors <<<"$(median "$name")"
  all=$(cut -d' ' -f1 "$work/results/$name" | paste -sd/)
  rows+=("| $name | **$rps** ($all) | $p50 | $p99 | $bad${errors#-} |")
  eval "rps_$name=$rps"
done

read -r tps _ pglat <<<"$(median pgbench)"
pgall=$(cut -d' ' -f1 "$work/results/pgbench" | paste -sd/)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# by_round a b: the ratio of a's req/s to b's in each round, then their median.
by_round() {
  paste -d' ' <(cut -d' ' -f1 "$work/results/$1") <(cut -d' ' -f1 "$work/results/$2") |
    awk '{ printf "%.2f\n", $1 / $2 }' | sort -n |
    awk '{ r[NR] = $1 } END { for (i = 1; i <= NR; i++) s = s (i > 1 ? ", " : "") r[i];
      printf "%s; median %s", s, r[int((NR + 1) / 2)] }'
}
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "Date: $(date -u +%Y-%m-%d). Machine: $(nproc) CPU ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")."
  echo "wrk -t1 -c$CONNECTIONS -d$DURATION on CPU $CLIENT_CPU; servers (PostgreSQL, API with 1 worker, bare handler with 1 worker) on CPU $SERVER_CPU; API and bare handler scheduled $SCHED."
  echo "$ROUNDS rounds; each row is the median round (all rounds' req/s in brackets)."
  echo
  echo "| scenario | req/s | p50 | p99 | non-2xx/3xx |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo "| pgbench -S -M prepared -c$CONNECTIONS (tps) | **$tps** ($pgall) | avg $pglat | | |"
  echo
  echo "- cached GET / bare handler: **$(ratio "$rps_cached" "$rps_bare")** (round by round, sorted: $(by_round cached bare))"
  echo "- uncached GET / pgbench -S: **$(ratio "$rps_uncached" "$tps")** (round by round, sorted: $(by_round uncached pgbench))"
} | tee "$REPORT"
