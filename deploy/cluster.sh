#!/usr/bin/env bash
# dzl's cluster on one machine, as separate processes: Temporal's frontend, history, matching and
# worker services on PostgreSQL, N dzl routers and M dzl workers on one MariaDB database.
#
#   deploy/cluster.sh tools     build the Temporal server and temporal-sql-tool into .tools/ (once)
#   deploy/cluster.sh tls       development certificates for DZL_CLUSTER_TLS=1 (openssl)
#   deploy/cluster.sh schema    roles, databases and schemas (PostgreSQL for Temporal, MariaDB for dzl)
#   deploy/cluster.sh up        tools + schema, then start every process — Temporal's, the routers,
#                               the workers, each reference party — and wait until each answers
#   deploy/cluster.sh down      stop every process: SIGTERM, then SIGKILL after DZL_CLUSTER_STOP_TIMEOUT
#   deploy/cluster.sh status    one line per process: up/down, pid, ports
#   deploy/cluster.sh smoke     applications through the running cluster, then a plaintext scan
#   deploy/cluster.sh test      the fault matrix on a cluster of its own (up, faults, down)
#   deploy/cluster.sh ui        the operators' Temporal Web UI and dzl's codec server (decode only)
#   deploy/cluster.sh ui-check  headless Chromium: ciphertext when not signed in, decoded when signed in
#
# Configuration: deploy/cluster.env (every value can be overridden from the environment).
# Run-time files: $DZL_CLUSTER_DIR (pids/, logs/, the dev network). Nothing here downloads a
# binary at run time: the server is built from the Go module proxy by `tools`, once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
set -a
# shellcheck source=deploy/cluster.env
source deploy/cluster.env
set +a

RUN=$(mkdir -p "$DZL_CLUSTER_DIR" && cd "$DZL_CLUSTER_DIR" && pwd -P)
PIDS=$RUN/pids
LOGS=$RUN/logs
mkdir -p "$PIDS" "$LOGS"
TOOLS=$(mkdir -p "$TEMPORAL_TOOLS_DIR" && cd "$TEMPORAL_TOOLS_DIR" && pwd -P)
TEMPORAL_SERVER=$TOOLS/server
TEMPORAL_SQL_TOOL=$TOOLS/sql
TEMPORAL_CONFIG=$ROOT/deploy/temporal/config.yaml
TEMPORAL_UI_BIN=$(mkdir -p "$TEMPORAL_UI_DIR" && cd "$TEMPORAL_UI_DIR" && pwd -P)/server
export TEMPORAL_DYNAMIC_CONFIG=${TEMPORAL_DYNAMIC_CONFIG:-$ROOT/deploy/temporal/dynamicconfig.yaml}
DZL=(node "$ROOT/dist/services/cli/dzl.js")
TEMPORAL_SERVICES=(history matching frontend worker)

# With DZL_CLUSTER_TLS=1 every Temporal connection is mutual TLS: the server's template reads
# TEMPORAL_TLS_*, dzl's processes DZL_TEMPORAL_TLS_*, the CLI its --tls flags, the UI its tls:.
if [ "$DZL_CLUSTER_TLS" = 1 ]; then
  TLS_DIR=$(mkdir -p "$DZL_CLUSTER_TLS_DIR" && cd "$DZL_CLUSTER_TLS_DIR" && pwd -P)
  export TEMPORAL_TLS_CA=${TEMPORAL_TLS_CA:-$TLS_DIR/ca.pem}
  export TEMPORAL_TLS_CERT=${TEMPORAL_TLS_CERT:-$TLS_DIR/temporal.pem}
  export TEMPORAL_TLS_KEY=${TEMPORAL_TLS_KEY:-$TLS_DIR/temporal.key}
  export TEMPORAL_TLS_SERVER_NAME=${TEMPORAL_TLS_SERVER_NAME:-localhost}
  export DZL_TEMPORAL_TLS_CA=${DZL_TEMPORAL_TLS_CA:-$TEMPORAL_TLS_CA}
  export DZL_TEMPORAL_TLS_CERT=${DZL_TEMPORAL_TLS_CERT:-$TLS_DIR/client.pem}
  export DZL_TEMPORAL_TLS_KEY=${DZL_TEMPORAL_TLS_KEY:-$TLS_DIR/client.key}
  export DZL_TEMPORAL_TLS_SERVER_NAME=${DZL_TEMPORAL_TLS_SERVER_NAME:-$TEMPORAL_TLS_SERVER_NAME}
  TEMPORAL_CLI_TLS=(--tls-ca-path "$DZL_TEMPORAL_TLS_CA" --tls-cert-path "$DZL_TEMPORAL_TLS_CERT" --tls-key-path "$DZL_TEMPORAL_TLS_KEY" --tls-server-name "$DZL_TEMPORAL_TLS_SERVER_NAME")
else
  TEMPORAL_CLI_TLS=()
fi

say() { printf '%s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# processes: a pid file per process, checked against the command line so that a recycled pid
# belonging to someone else is never signalled
# ---------------------------------------------------------------------------------------------
pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid" || true; }

alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$ROOT"
}

# start_process NAME "PORTS" ENV=VALUE… -- COMMAND…
start_process() {
  local name=$1 ports=$2
  shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  if alive "$name"; then
    say "  $name already up (pid $(pid_of "$name"))"
    return
  fi
  printf '%s\n' "$ports" >"$PIDS/$name.ports"
  rm -f "$PIDS/$name.pid"
  # its own session, so that the process outlives the shell that started it; the child writes
  # its own pid before exec, whatever setsid had to fork
  printf '\n=== %s start %s\n' "$name" "$(date -u +%FT%TZ)" >>"$LOGS/$name.log"
  # readiness is read from this run's part of the log only
  stat -c %s "$LOGS/$name.log" >"$PIDS/$name.logstart"
  env "${envs[@]}" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDS/$name.pid" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$PIDS/$name.pid" ] && break; sleep 0.1; done
  say "  $name started (pid $(pid_of "$name"), log $LOGS/$name.log)"
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_ready NAME TIMEOUT CHECK… : until CHECK succeeds, failing early if the process died
wait_ready() {
  local name=$1 timeout=$2 started=$SECONDS
  shift 2
  until "$@"; do
    if ! alive "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited before it was ready (log: $LOGS/$name.log)"
    fi
    if [ $((SECONDS - started)) -ge "$timeout" ]; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name not ready after ${timeout} s (log: $LOGS/$name.log)"
    fi
    sleep 0.5
  done
}

# (grep reads to the end: with -q it would stop at the first match, tail would die of SIGPIPE on a
# long log, and pipefail would call that "not ready" — a worker with a busy log waited out its 120 s)
log_says() { tail -c +"$(($(cat "$PIDS/$1.logstart" 2>/dev/null || echo 0) + 1))" "$LOGS/$1.log" 2>/dev/null | grep -F "$2" >/dev/null; }

stop_process() {
  local name=$1 pid
  pid=$(pid_of "$name")
  if ! alive "$name"; then
    rm -f "$PIDS/$name.pid"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + DZL_CLUSTER_STOP_TIMEOUT))
  while alive "$name" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if alive "$name"; then
    kill -KILL "$pid" 2>/dev/null || true
    say "  $name (pid $pid) did not stop within ${DZL_CLUSTER_STOP_TIMEOUT} s of SIGTERM: killed"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  else
    say "  $name (pid $pid) stopped"
  fi
  rm -f "$PIDS/$name.pid"
}

# every process this script may have started, in start order
all_processes() {
  local s i
  for s in "${TEMPORAL_SERVICES[@]}"; do echo "temporal-$s"; done
  for i in $(seq 1 "$DZL_ROUTERS"); do echo "dzl-router-$i"; done
  for i in $(seq 1 "$DZL_WORKERS"); do echo "dzl-worker-$i"; done
  for f in "$PIDS"/*.pid; do [ -e "$f" ] && basename "$f" .pid; done
  true
}

# ---------------------------------------------------------------------------------------------
# tools: the real Temporal server, built with the local Go from the module proxy
# ---------------------------------------------------------------------------------------------
go_install_once() {
  local bin=$1 module=$2 what=$3
  [ -x "$bin" ] && return
  command -v go >/dev/null || die "Go is needed to build $what ($module)"
  # one build at a time for everyone sharing .tools/: a second caller waits and finds the binary
  local dir
  dir=$(dirname "$bin")
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -x "$bin" ]; then
      say "building $what: go install $module (once; cached in $dir)"
      local t0=$SECONDS
      GOBIN=$dir go install "$module"
      say "built $bin ($(du -m "$bin" | cut -f1) MiB) in $((SECONDS - t0)) s"
    fi
  ) 9>"$dir/.build.lock"
}

cmd_tools() {
  go_install_once "$TEMPORAL_SERVER" "go.temporal.io/server/cmd/server@$TEMPORAL_VERSION" "the Temporal server $TEMPORAL_VERSION (about 6 minutes and 2.6 GB of memory on 2 cores)"
  go_install_once "$TEMPORAL_SQL_TOOL" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_VERSION" "temporal-sql-tool $TEMPORAL_VERSION"
  [ -x "$TEMPORAL_CLI" ] || die "the Temporal CLI is missing at $TEMPORAL_CLI: run \`make temporal-cli\`"
}

# ---------------------------------------------------------------------------------------------
# schema: idempotent; creates only what is missing and never drops anything
# ---------------------------------------------------------------------------------------------
ident() { [[ $1 =~ ^[a-z_][a-z0-9_]*$ ]] || die "not a plain SQL identifier: $1"; }

# pg_admin [DATABASE] <<<SQL : as the server's superuser, by peer authentication on this machine
# (Debian's package); elsewhere as PGUSER/PGPASSWORD over TCP
pg_admin() {
  local db=${1:-postgres}
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && [ "$TEMPORAL_PG_HOST" = 127.0.0.1 ]; then
    su postgres -c "cd / && psql -X -q -v ON_ERROR_STOP=1 -At -d $db"
  else
    psql -X -q -v ON_ERROR_STOP=1 -At -h "$TEMPORAL_PG_HOST" -p "$TEMPORAL_PG_PORT" -d "$db"
  fi
}

sql_tool() {
  "$TEMPORAL_SQL_TOOL" --plugin postgres12 --ep "$TEMPORAL_PG_HOST" -p "$TEMPORAL_PG_PORT" \
    -u "$TEMPORAL_PG_USER" --pw "$TEMPORAL_PG_PASSWORD" "$@"
}

cmd_schema() {
  ident "$TEMPORAL_PG_USER"; ident "$TEMPORAL_DB"; ident "$TEMPORAL_VISIBILITY_DB"
  local pw=${TEMPORAL_PG_PASSWORD//\'/\'\'}
  say "PostgreSQL $TEMPORAL_PG_HOST:$TEMPORAL_PG_PORT: role $TEMPORAL_PG_USER, databases $TEMPORAL_DB and $TEMPORAL_VISIBILITY_DB"
  pg_admin <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEMPORAL_PG_USER') THEN
    CREATE ROLE $TEMPORAL_PG_USER LOGIN PASSWORD '$pw';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $TEMPORAL_DB OWNER $TEMPORAL_PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$TEMPORAL_DB')\gexec
SELECT 'CREATE DATABASE $TEMPORAL_VISIBILITY_DB OWNER $TEMPORAL_PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$TEMPORAL_VISIBILITY_DB')\gexec
SQL
  local db schema
  for pair in "$TEMPORAL_DB:postgresql/v12/temporal" "$TEMPORAL_VISIBILITY_DB:postgresql/v12/visibility"; do
    db=${pair%%:*} schema=${pair#*:}
    # setup-schema only on an empty database (run again, it would record version 0.0 over the real one)
    if [ -z "$(pg_admin "$db" <<<"SELECT to_regclass('public.schema_version')")" ]; then
      sql_tool --db "$db" setup-schema -v 0.0 >>"$LOGS/schema.log" 2>&1 || { tail -n 20 "$LOGS/schema.log" >&2; die "setup-schema $db failed"; }
    fi
    # applies only the versions the database does not have yet (the schemas are in the tool)
    sql_tool --db "$db" update-schema --schema-name "$schema" >>"$LOGS/schema.log" 2>&1 || { tail -n 20 "$LOGS/schema.log" >&2; die "update-schema $db failed"; }
    say "  $db: schema $schema at version $(pg_admin "$db" <<<"SELECT curr_version FROM schema_version")"
  done

  local dbname=${DZL_DB_URL##*/}
  dbname=${dbname%%\?*}
  ident "$dbname"
  if [[ $DZL_DB_URL == mysql://* ]]; then
    local rest=${DZL_DB_URL#mysql://} creds host user pass=""
    creds=${rest%%@*} host=${rest#*@} host=${host%%/*}
    user=${creds%%:*}
    [[ $creds == *:* ]] && pass=${creds#*:}
    MYSQL_PWD=$pass mysql -h "${host%%:*}" -P "${host##*:}" -u "$user" -e "CREATE DATABASE IF NOT EXISTS \`$dbname\` CHARACTER SET utf8mb4"
    say "MariaDB ${host}: database $dbname (dzl's migrations run when its processes start)"
  fi
}

# ---------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------
temporal_cli() { "$TEMPORAL_CLI" --address "$TEMPORAL_FRONTEND_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" "${TEMPORAL_CLI_TLS[@]}" "$@"; }

# Development certificates (openssl): a CA, one certificate for Temporal's services (server and
# internode client), one for its clients (routers, workers, the CLI, the UI). Never for production.
cmd_tls() {
  local d=$DZL_CLUSTER_TLS_DIR
  mkdir -p "$d"
  [ -f "$d/ca.pem" ] && [ -f "$d/temporal.pem" ] && [ -f "$d/client.pem" ] && return
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=dzl dev cluster CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  local name ext
  for name in temporal client; do
    if [ $name = temporal ]; then ext="subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"; else ext="extendedKeyUsage=clientAuth"; fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=dzl-$name" -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
      -extfile <(printf "$ext\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature") -out "$d/$name.pem" 2>/dev/null
    rm -f "$d/$name.csr"
  done
  chmod 600 "$d"/*.key
  say "development TLS certificates in $d (CA, temporal, client; 30 days)"
}

frontend_serving() { temporal_cli operator cluster health 2>/dev/null | grep -q SERVING; }

namespace_exists() { temporal_cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; }

start_temporal() {
  local s upper port mport metrics
  for s in "${TEMPORAL_SERVICES[@]}"; do
    upper=${s^^}
    port=TEMPORAL_${upper}_PORT mport=TEMPORAL_${upper}_MEMBERSHIP_PORT metrics=TEMPORAL_${upper}_METRICS_PORT
    port=${!port} mport=${!mport} metrics=${!metrics}
    start_process "temporal-$s" "grpc $port, membership $mport, metrics $metrics" \
      TEMPORAL_METRICS_ADDRESS="$TEMPORAL_BIND_IP:$metrics" -- \
      "$TEMPORAL_SERVER" --config-file "$TEMPORAL_CONFIG" --allow-no-auth start --service "$s"
  done
  for s in "${TEMPORAL_SERVICES[@]}"; do
    port=TEMPORAL_${s^^}_PORT
    wait_ready "temporal-$s" 120 tcp_open "$TEMPORAL_BIND_IP" "${!port}"
  done
  local t0=$SECONDS
  wait_ready temporal-frontend 120 frontend_serving
  say "  Temporal frontend at $TEMPORAL_FRONTEND_ADDRESS is SERVING ($((SECONDS - t0)) s after its port opened)"
  if ! namespace_exists; then
    # the namespace registry reaches every frontend within seconds; until then creation may be refused
    local tries=0
    until temporal_cli operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_RETENTION" >>"$LOGS/namespace.log" 2>&1; do
      tries=$((tries + 1))
      [ $tries -ge 20 ] && { tail -n 5 "$LOGS/namespace.log" >&2; die "could not create namespace $TEMPORAL_NAMESPACE"; }
      sleep 1
    done
    say "  namespace $TEMPORAL_NAMESPACE created (retention $TEMPORAL_RETENTION)"
  fi
  wait_ready temporal-frontend 60 namespace_exists
}

router_grpc_targets() {
  local i targets=()
  for i in $(seq 1 "$DZL_ROUTERS"); do targets+=("$DZL_ROUTER_HOST:$((DZL_ROUTER_GRPC_BASE + i - 1))"); done
  local IFS=,
  echo "ipv4:${targets[*]}"
}

http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }

start_dzl() {
  [ -f "$ROOT/dist/services/cli/dzl.js" ] || die "dzl is not built: run \`make build\`"
  if [ ! -f "$DZL_NETWORK_DIR/network.json" ]; then
    "${DZL[@]}" network init --dir "$DZL_NETWORK_DIR" >"$LOGS/network.log"
    say "  development network written to $DZL_NETWORK_DIR"
  fi
  # the registry's endpoints stay as the parties set them; certificates are added, never removed
  "${DZL[@]}" network register --dir "$DZL_NETWORK_DIR" --db "$DZL_DB_URL" >>"$LOGS/network.log"
  local common=(DZL_DB_URL="$DZL_DB_URL" DZL_NETWORK_DIR="$DZL_NETWORK_DIR" DZL_TEMPORAL_ADDRESS="$TEMPORAL_FRONTEND_ADDRESS"
    DZL_RETAIN_APPROVED="$DZL_RETAIN_APPROVED" DZL_RETAIN_OTHER="$DZL_RETAIN_OTHER"
    # every party of this one-machine cluster is on loopback, the platform's callbacks too
    DZL_ALLOW_PRIVATE_CALLBACKS=1)
  # one address for all routers, as a load balancer would give: grpc-js tries the listed routers in
  # turn; the HTTP URL published for banks is the first router's (a load balancer's elsewhere)
  local advertise=${DZL_GRPC_ADVERTISE:-$(router_grpc_targets)}
  local advertise_url=${DZL_HTTP_ADVERTISE:-http://$DZL_ROUTER_HOST:$DZL_ROUTER_HTTP_BASE}
  local i http grpc
  for i in $(seq 1 "$DZL_ROUTERS"); do
    http=$((DZL_ROUTER_HTTP_BASE + i - 1)) grpc=$((DZL_ROUTER_GRPC_BASE + i - 1))
    start_process "dzl-router-$i" "http $http, grpc $grpc" "${common[@]}" \
      DZL_HTTP_HOST="$DZL_ROUTER_HOST" DZL_HTTP_PORT="$http" DZL_GRPC_ADDRESS="$DZL_ROUTER_HOST:$grpc" DZL_GRPC_ADVERTISE="$advertise" DZL_HTTP_ADVERTISE="$advertise_url" -- \
      "${DZL[@]}" router
  done
  for i in $(seq 1 "$DZL_WORKERS"); do
    # the Temporal SDK's own metrics (temporal_*: schedule-to-start, slots, pollers) on a port of each worker's
    start_process "dzl-worker-$i" "temporal metrics $((DZL_WORKER_TEMPORAL_METRICS_BASE + i - 1))" "${common[@]}" \
      DZL_TEMPORAL_METRICS="$DZL_ROUTER_HOST:$((DZL_WORKER_TEMPORAL_METRICS_BASE + i - 1))" -- "${DZL[@]}" worker
  done
  for i in $(seq 1 "$DZL_ROUTERS"); do
    wait_ready "dzl-router-$i" 60 http_ok "http://$DZL_ROUTER_HOST:$((DZL_ROUTER_HTTP_BASE + i - 1))/healthz"
  done
  for i in $(seq 1 "$DZL_WORKERS"); do
    wait_ready "dzl-worker-$i" 120 log_says "dzl-worker-$i" "dzl worker running"
  done
  say "  routers publish $advertise (gRPC) and $advertise_url (HTTP) as the router's endpoints for banks"
}

# The reference parties, each a process of its own (contracts/parties.md): their configurations
# and registrations from deploy/bin/parties.js, then one `dzl channel|bank|platform` each
start_parties() {
  local plan role id config
  plan=$(DZL_CLUSTER_DIR="$RUN" DZL_NETWORK_DIR="$DZL_NETWORK_DIR" DZL_DB_URL="$DZL_DB_URL" DZL_ROUTERS="$DZL_ROUTERS" DZL_ROUTER_HOST="$DZL_ROUTER_HOST" \
    DZL_ROUTER_HTTP_BASE="$DZL_ROUTER_HTTP_BASE" DZL_PARTIES_PORT_BASE="$DZL_PARTIES_PORT_BASE" node "$ROOT/dist/deploy/bin/parties.js" configure) || die "the parties' configurations could not be written"
  while read -r role id config; do
    start_process "party-$id" "$role, config $config" -- "${DZL[@]}" "$role" --config "$config"
  done <<<"$plan"
  while read -r role id config; do
    wait_ready "party-$id" 60 log_says "party-$id" "running: "
  done <<<"$plan"
  # routers and workers reload the registry every 5 s: the parties' endpoints are in it after that
  sleep 6
}

cmd_up() {
  local t0=$SECONDS
  cmd_tools
  [ "$DZL_CLUSTER_TLS" = 1 ] && cmd_tls
  cmd_schema
  say "starting Temporal: ${TEMPORAL_SERVICES[*]} (one process each)"
  start_temporal
  say "starting dzl: $DZL_ROUTERS routers, $DZL_WORKERS workers on ${DZL_DB_URL%%\?*}"
  start_dzl
  say "starting the reference parties: two channels, four banks, two platforms (one process each)"
  start_parties
  say "cluster up in $((SECONDS - t0)) s"
  cmd_status
}

cmd_down() {
  local names=() n
  mapfile -t names < <(all_processes | awk '!seen[$0]++')
  # dzl first (its in-flight work goes back to Temporal), then Temporal's services in reverse
  for ((n = ${#names[@]} - 1; n >= 0; n--)); do stop_process "${names[n]}"; done
}

cmd_status() {
  local name pid state
  while read -r name; do
    pid=$(pid_of "$name")
    if alive "$name"; then state=up; else state=down; [ -n "$pid" ] || pid=-; fi
    printf '%-20s %-5s pid %-8s %s\n' "$name" "$state" "$pid" "$(cat "$PIDS/$name.ports" 2>/dev/null || echo -)"
  done < <(all_processes | awk '!seen[$0]++')
}

# The operators' Web UI and dzl's codec server (decode only, for signed-in operators)
cmd_ui() {
  go_install_once "$TEMPORAL_UI_BIN" "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION" "the Temporal Web UI $TEMPORAL_UI_VERSION"
  alive temporal-frontend || die "the Temporal cluster is not up: \`make cluster-up\` first"
  local ui_origin=http://$TEMPORAL_BIND_IP:$TEMPORAL_UI_PORT codec_url=http://127.0.0.1:$DZL_CODEC_PORT
  start_process dzl-codec "http $DZL_CODEC_PORT" DZL_NETWORK_DIR="$DZL_NETWORK_DIR" DZL_CODEC_PORT="$DZL_CODEC_PORT" \
    DZL_CODEC_ALLOWED_ORIGINS="$ui_origin" DZL_CODEC_AUDIT="$RUN/codec-audit.jsonl" -- node "$ROOT/dist/deploy/bin/codecServer.js"
  start_process temporal-ui "http $TEMPORAL_UI_PORT" TEMPORAL_UI_HOST="$TEMPORAL_BIND_IP" TEMPORAL_UI_ORIGIN="$ui_origin" DZL_CODEC_URL="$codec_url" \
    TEMPORAL_UI_TLS_CA="${DZL_TEMPORAL_TLS_CA:-}" TEMPORAL_UI_TLS_CERT="${DZL_TEMPORAL_TLS_CERT:-}" TEMPORAL_UI_TLS_KEY="${DZL_TEMPORAL_TLS_KEY:-}" TEMPORAL_UI_TLS_SERVER_NAME="${DZL_TEMPORAL_TLS_SERVER_NAME:-}" -- \
    "$TEMPORAL_UI_BIN" --root "$ROOT" --config deploy/temporal/ui --env dzl start
  wait_ready dzl-codec 30 http_ok "$codec_url/healthz"
  wait_ready temporal-ui 60 http_ok "$ui_origin/"
  say "  Web UI at $ui_origin, payloads decoded by $codec_url for signed-in operators (audit: $RUN/codec-audit.jsonl)"
  say "  sign in: node dist/deploy/bin/operatorLink.js <operator>   (prints a link for the browser and a header for the CLI)"
}

cmd_smoke() {
  local name
  for name in $(all_processes | awk '!seen[$0]++' | grep -v -e '^temporal-ui$' -e '^dzl-codec$'); do
    alive "$name" || die "$name is not running: \`make cluster-up\` first (make cluster-status)"
  done
  node "$ROOT/dist/deploy/bin/smoke.js"
}

# The fault matrix (deploy/bin/faults.ts): a cluster of its own, a fresh store, every fault, down
cmd_test() {
  cmd_down >/dev/null
  DZL_DB_URL=$DZL_DB_URL mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`${DZL_DB_URL##*/}\`" 2>/dev/null || true
  # a fresh registry starts its directory versions again: the parties' kept copies are of another
  rm -f "$DZL_NETWORK_DIR"/parties/*/directory.json
  cmd_up
  local rc=0
  node "$ROOT/dist/deploy/bin/faults.js" "$@" || rc=$?
  # then the operators' Web UI on the same cluster, in headless Chromium: ciphertext until an
  # operator signs in to the codec server, the decoded ids after (the smoke run's newest application)
  if [ $rc = 0 ]; then
    { cmd_ui && cmd_smoke && node "$ROOT/dist/deploy/bin/uiCheck.js"; } || rc=$?
  fi
  cmd_down >/dev/null
  return $rc
}

# The load test (deploy/bin/load.ts): the same load against one router and one worker, then two
# and two, each a cluster of its own on a fresh store, the soak on the second; then side by side
cmd_load() {
  local vegeta=$ROOT/.tools/bin/vegeta n rc=0
  go_install_once "$vegeta" "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" "vegeta $VEGETA_VERSION (the load tool)"
  for n in 1 2; do
    cmd_down >/dev/null
    mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`${DZL_DB_URL##*/}\`" 2>/dev/null || true
    rm -f "$DZL_NETWORK_DIR"/parties/*/directory.json
    DZL_ROUTERS=$n DZL_WORKERS=$n
    export DZL_ROUTERS DZL_WORKERS
    cmd_up >"$LOGS/load-up-$n.log" || { cat "$LOGS/load-up-$n.log"; die "the cluster with $n router(s) did not start"; }
    say "load against $n router(s) and $n worker(s)"
    local soak=()
    [ "$n" = 2 ] && soak=(--soak-s "$DZL_LOAD_SOAK_S")
    DZL_VEGETA=$vegeta node "$ROOT/dist/deploy/bin/load.js" --label "$n router$([ "$n" = 1 ] || echo s), $n worker$([ "$n" = 1 ] || echo s)" --out "$RUN/load-$n.json" "${soak[@]}" "$@" || rc=$?
    [ $rc = 0 ] || break
  done
  cmd_down >/dev/null
  [ $rc = 0 ] || return $rc
  node "$ROOT/dist/deploy/bin/load.js" --compare "$RUN/load-1.json" "$RUN/load-2.json" | tee "$RUN/load-report.md"
}

case "${1:-}" in
  tools) cmd_tools ;;
  tls) cmd_tls ;;
  schema) cmd_schema ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  smoke) cmd_smoke ;;
  test) shift; cmd_test "$@" ;;
  load) shift; cmd_load "$@" ;;
  ui) cmd_ui ;;
  ui-check) alive temporal-ui && alive dzl-codec || die "the Web UI is not up: \`make cluster-ui\` first"; node "$ROOT/dist/deploy/bin/uiCheck.js" ;;
  *) die "usage: deploy/cluster.sh tools|tls|schema|up|down|status|smoke|test|load|ui|ui-check" ;;
esac
