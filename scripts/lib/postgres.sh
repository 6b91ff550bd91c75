# PostgreSQL for photoshare (sourced by scripts/service, after common.sh): a cluster of its
# own under DIR, listening on 127.0.0.1:PORT only.
#
#   DIR/data              the cluster (initdb on first start)
#   DIR/.s.PGSQL.PORT     its unix socket (mode 0700: only the cluster's owner may use it)
#   DIR/postgres.log      the server log
#   DIR/admin-password    the superuser's password, made up at initdb (superuser: postgres)
#
# TCP logins need a password (scram-sha-256); the socket trusts its owner, which is how
# this script creates the database `photoshare` owned by the user `photoshare` (password
# `photoshare`). As root, everything runs as the `postgres` account (PostgreSQL refuses
# root) on a DIR given to it; as anybody else, as that user.

# The directory holding initdb, pg_ctl, postgres and psql: $PG_BINDIR, else the newest
# Debian install, else whatever is on PATH.
postgres_bindir() {
  local dir
  if [[ -n ${PG_BINDIR:-} ]]; then
    [[ -x $PG_BINDIR/pg_ctl ]] && { echo "$PG_BINDIR"; return 0; }
    echo "service: PG_BINDIR=$PG_BINDIR has no pg_ctl" >&2
    return 1
  fi
  # Newest version first: /usr/lib/postgresql/<version>/bin.
  while read -r dir; do
    [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] && { echo "$dir"; return 0; }
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -V -r)
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  echo "service: PostgreSQL server programs (initdb, pg_ctl) not found;" \
    "install them with scripts/setup --tests (Debian package postgresql)" >&2
  return 1
}

# psql as the superuser over the cluster's socket; extra arguments follow.
postgres_psql() {
  local bin=$1 dir=$2 port=$3
  shift 3
  as_service_user postgres "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"
}

# True while the postmaster of DIR runs. A zombie (exited, not yet reaped) has stopped,
# although kill -0, and so pg_ctl status, still sees it.
postgres_running() {
  local pid state
  pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

postgres_start() {
  local dir=$1 port=$2 bin log=$1/postgres.log
  bin=$(postgres_bindir) || return 1
  [[ $port =~ ^[0-9]+$ ]] || { echo "service: postgres: bad port '$port'" >&2; return 1; }
  # The path goes into postgresql.conf between single quotes, and the socket's full path
  # must fit in a sockaddr_un (107 bytes).
  [[ $dir != *[\'\\]* ]] || { echo "service: postgres: the directory name may not contain ' or \\" >&2; return 1; }
  (( ${#dir} + 20 <= 107 )) || { echo "service: postgres: '$dir' is too long for a unix socket path; use a shorter directory" >&2; return 1; }
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { echo "service: postgres: running as root needs the 'postgres' account (Debian package postgresql)" >&2; return 1; }
    chown postgres: "$dir"
    as_service_user postgres test -w "$dir" || {
      echo "service: postgres: the postgres account cannot reach $dir (a parent directory is closed to it); use a directory under /tmp" >&2
      return 1
    }
  fi
  chmod 700 "$dir"

  if [[ ! -f $dir/data/PG_VERSION ]]; then
    rm -rf "$dir/data"
    # Made up here, kept beside the cluster for whoever administers it (the tests do).
    (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$dir/admin-password")
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/admin-password"
    # --no-sync: a cluster made for a local stack or a test; the few seconds of fsync would
    # be most of its start-up. The server itself keeps fsync on.
    as_service_user postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/admin-password" \
      -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
      >"$dir/initdb.log" 2>&1 || { fail_with_log "postgres: initdb failed" "$dir/initdb.log"; return 1; }
    as_service_user postgres tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# photoshare (scripts/lib/postgres.sh): loopback only, socket beside the data
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 32MB
password_encryption = scram-sha-256
EOF
    as_service_user postgres tee "$dir/data/pg_hba.conf" >/dev/null <<EOF
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
EOF
  fi

  if ! postgres_running "$dir"; then
    # Left by a server that was killed: its process is gone, so they are stale (and
    # would name a zombie that the server's own check takes for a live postmaster).
    rm -f "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*.lock
    as_service_user postgres "$bin/pg_ctl" start -D "$dir/data" -l "$log" -o "-p $port" -w -t 30 \
      >/dev/null 2>&1 || { fail_with_log "postgres did not start on port $port" "$log"; return 1; }
  fi

  # The application's login and database, created once.
  postgres_psql "$bin" "$dir" "$port" <<'EOF' || { echo "service: postgres: could not create the photoshare user and database" >&2; return 1; }
SELECT 'CREATE ROLE photoshare LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'photoshare') \gexec
ALTER ROLE photoshare PASSWORD 'photoshare';
SELECT 'CREATE DATABASE photoshare OWNER photoshare' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'photoshare') \gexec
EOF
}

postgres_stop() {
  local dir=$1 bin pid
  local -a children
  [[ -f $dir/data/postmaster.pid ]] || return 0
  postgres_running "$dir" || { rm -f "$dir/data/postmaster.pid"; return 0; }
  bin=$(postgres_bindir) || return 1
  # fast: ends the sessions (a pooled connection would hold a "smart" shutdown forever).
  as_service_user postgres "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 20 >/dev/null 2>&1 && return 0
  as_service_user postgres "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t 10 >/dev/null 2>&1 && return 0
  # Last resort: the postmaster and its children, by pid.
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    mapfile -t children < <(pgrep -P "$pid" || true)
    kill -KILL "$pid" "${children[@]}" 2>/dev/null || true
  fi
  rm -f "$dir/data/postmaster.pid"
}

postgres_url() {
  echo "postgresql://photoshare:photoshare@127.0.0.1:$2/photoshare"
}
