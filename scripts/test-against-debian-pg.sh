#!/usr/bin/env bash
# Run the test suite against Debian's PostgreSQL (default 15) instead of the embedded server:
# a throwaway cluster in a temporary directory, on a free port, stopped afterwards.
#   apt-get install postgresql   # once
#   scripts/test-against-debian-pg.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-15}"
bin="/usr/lib/postgresql/${version}/bin"
[ -x "$bin/postgres" ] || { echo "PostgreSQL $version is not installed: apt-get install postgresql-$version" >&2; exit 2; }

dir="$(mktemp -d /tmp/axiom-pg${version}-XXXXXX)"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
password="$(node -e "console.log(require('crypto').randomBytes(18).toString('base64url'))")"
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir" && chmod 711 "$dir"
printf '%s\n' "$password" > "$dir/pw" && [ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
run "$bin/initdb -D $dir/data -U postgres --pwfile=$dir/pw --auth=scram-sha-256 --encoding=UTF8 --locale=C >/dev/null"
run "$bin/pg_ctl -D $dir/data -o '-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off' -l $dir/log -w start >/dev/null"
trap 'run "$bin/pg_ctl -D $dir/data -m fast stop >/dev/null" || true; rm -rf "$dir"' EXIT
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port"
TEST_DATABASE_URL="postgres://postgres:${password}@127.0.0.1:${port}/postgres" npm test
