# MariaDB for photoshare (sourced by scripts/service, after common.sh): a server of its own
# under DIR, listening on 127.0.0.1:PORT only.
#
#   DIR/data              the data directory (mariadb-install-db on first start)
#   DIR/mysqld.sock       its unix socket; DIR is mode 0700, so only its owner can use it
#   DIR/mysqld.pid        DIR/mysqld.log   the server's pid and log
#   DIR/admin-password    the password of root@localhost and root@127.0.0.1, made up here
#   DIR/init.sql          run by the server at every start (--init-file): the passwords, the
#                         database `photoshare` and its user photoshare@127.0.0.1 / photoshare
#
# The grant tables are always in force. As root the server runs with --user=mysql on a DIR
# given to that account; as anybody else, as that user.

# Prints three paths: the server, mariadb-install-db and the command-line client.
mariadb_programs() {
  local server="" install="" client="" candidate
  for candidate in "${MARIADB_SERVER:-}" /usr/sbin/mariadbd /usr/sbin/mysqld "$(command -v mariadbd 2>/dev/null)" "$(command -v mysqld 2>/dev/null)"; do
    [[ -n $candidate && -x $candidate ]] && { server=$candidate; break; }
  done
  for candidate in /usr/bin/mariadb-install-db /usr/bin/mysql_install_db "$(command -v mariadb-install-db 2>/dev/null)"; do
    [[ -n $candidate && -x $candidate ]] && { install=$candidate; break; }
  done
  for candidate in /usr/bin/mariadb /usr/bin/mysql "$(command -v mariadb 2>/dev/null)"; do
    [[ -n $candidate && -x $candidate ]] && { client=$candidate; break; }
  done
  if [[ -z $server || -z $install || -z $client ]]; then
    echo "service: MariaDB server programs (mariadbd, mariadb-install-db, mariadb) not found;" \
      "install them with scripts/setup --tests (Debian package mariadb-server)" >&2
    return 1
  fi
  echo "$server" "$install" "$client"
}

# Options both the first-time install and the server take: small buffers and a small redo
# log, so that a new data directory and a start take about a second.
mariadb_sizes=(--innodb-buffer-pool-size=32M --innodb-log-file-size=16M --innodb-log-buffer-size=4M
  --key-buffer-size=1M --performance-schema=OFF)

mariadb_start() {
  local dir=$1 port=$2 programs server install client user_opt=() pid i password
  programs=$(mariadb_programs) || return 1
  read -r server install client <<<"$programs"
  [[ $port =~ ^[0-9]+$ ]] || { echo "service: mariadb: bad port '$port'" >&2; return 1; }
  (( ${#dir} + 12 <= 107 )) || { echo "service: mariadb: '$dir' is too long for a unix socket path; use a shorter directory" >&2; return 1; }
  if [[ $(id -u) -eq 0 ]]; then
    id mysql >/dev/null 2>&1 || { echo "service: mariadb: running as root needs the 'mysql' account (Debian package mariadb-server)" >&2; return 1; }
    user_opt=(--user=mysql)
    chown mysql: "$dir"
    as_service_user mysql test -w "$dir" || {
      echo "service: mariadb: the mysql account cannot reach $dir (a parent directory is closed to it); use a directory under /tmp" >&2
      return 1
    }
  fi
  chmod 700 "$dir"

  if [[ -f $dir/mysqld.pid ]] && mariadb_running "$(cat "$dir/mysqld.pid" 2>/dev/null)"; then
    return 0  # already running
  fi

  if [[ ! -d $dir/data/mysql ]]; then
    rm -rf "$dir/data"
    password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    (umask 077; echo "$password" >"$dir/admin-password")
    # One statement a line: that is how the server reads an init file. Every statement
    # is harmless when run again, since the file runs at every start.
    (umask 077; cat >"$dir/init.sql" <<EOF
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS photoshare CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'photoshare'@'127.0.0.1' IDENTIFIED BY 'photoshare';
GRANT ALL PRIVILEGES ON photoshare.* TO 'photoshare'@'127.0.0.1';
EOF
    )
    if [[ $(id -u) -eq 0 ]]; then chown mysql: "$dir/admin-password" "$dir/init.sql"; fi
    "$install" --no-defaults --datadir="$dir/data" "${user_opt[@]}" --skip-test-db --skip-name-resolve \
      "${mariadb_sizes[@]}" >"$dir/install.log" 2>&1 || { fail_with_log "mariadb: mariadb-install-db failed" "$dir/install.log"; return 1; }
  fi

  # The server writes its own log once it has switched to its account; what it says
  # before that goes to mysqld.out.
  : >"$dir/mysqld.out"
  [[ $(id -u) -eq 0 ]] && chown mysql: "$dir/mysqld.out"
  setsid "$server" --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/mysqld.log" \
    --init-file="$dir/init.sql" --skip-name-resolve --max-connections=200 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin "${mariadb_sizes[@]}" "${user_opt[@]}" \
    </dev/null >>"$dir/mysqld.out" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/mysqld.launch.pid"
  # Ready once the application's own login works over TCP: the port is open, init.sql ran.
  for ((i = 0; i < 300; i++)); do
    if "$client" --no-defaults --protocol=TCP -h 127.0.0.1 -P "$port" -u photoshare -pphotoshare \
      --connect-timeout=2 -e 'SELECT 1' photoshare >/dev/null 2>&1; then
      rm -f "$dir/mysqld.launch.pid"
      return 0
    fi
    mariadb_running "$pid" || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/mysqld.launch.pid"
  cat "$dir/mysqld.out" >>"$dir/mysqld.log" 2>/dev/null || true
  fail_with_log "mariadb did not start on port $port" "$dir/mysqld.log"
}

# True while PID runs; a zombie (exited, not yet reaped by init) has stopped.
mariadb_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# mariadb_stop_pidfile FILE: SIGTERM (a clean InnoDB shutdown), SIGKILL after 30 s.
mariadb_stop_pidfile() {
  local file=$1 pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && mariadb_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      mariadb_running "$pid" || break
      sleep 0.05
    done
    mariadb_running "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

mariadb_stop() {
  local dir=$1
  # A start that was cut short leaves only the pid it launched.
  mariadb_stop_pidfile "$dir/mysqld.launch.pid"
  mariadb_stop_pidfile "$dir/mysqld.pid"
}

mariadb_url() {
  echo "mysql://photoshare:photoshare@127.0.0.1:$2/photoshare"
}
