#!/usr/bin/env bash
# The PostgreSQL side of the hotline import benchmark, mirroring ../shared/bench/hotline-anchors.sh:
# `aftercare bench hotline --postgres URL` (COPY into staging, then one merge), and then, on the
# very same generated CSV and server, what an analyst would do instead: `psql \copy` into a
# plain table with a unique text key.
#
#   bench/pg-anchor.sh [ROWS] [BIN] [URL]
#
#   ROWS  rows in the generated export (default 1000000)
#   BIN   the aftercare binary (default: target/release/aftercare, built if missing)
#   URL   a PostgreSQL database the benchmark may EMPTY (default
#         postgres://postgres:postgres@127.0.0.1:5432/aftercare_bench, created if missing)
set -euo pipefail
ROWS=${1:-1000000}
BIN=${2:-target/release/aftercare}
URL=${3:-postgres://postgres:postgres@127.0.0.1:5432/aftercare_bench}
if [ ! -x "$BIN" ]; then cargo build --release --quiet; fi
DB=${URL##*/}
ADMIN=${URL%/*}/postgres
psql -q "$ADMIN" -tc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql -q "$ADMIN" -c "CREATE DATABASE \"$DB\""
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

echo "== aftercare bench hotline --rows $ROWS --postgres $URL"
"$BIN" bench hotline --rows "$ROWS" --dir "$W" --postgres "$URL" --json >"$W/ac.out" 2>"$W/ac.err" || { cat "$W/ac.err"; exit 1; }
read -r AC_IMPORT AC_METRICS < <(python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j["import_s"], j["metrics_s"])' "$W/ac.out")
CSV="$W/tickets.csv"
SKIP=$(grep -n -m1 '工单编号' "$CSV" | cut -d: -f1)
NCOL=$(sed -n "${SKIP}p" "$CSV" | python3 -c 'import csv,sys; print(len(next(csv.reader(sys.stdin))))')
COLS=$(python3 -c "print(', '.join(['c1 TEXT UNIQUE'] + ['c%d TEXT' % i for i in range(2, $NCOL + 1)]))")

echo "== psql \\copy of the same CSV"
psql -q "$URL" -c "DROP TABLE IF EXISTS anchor_tickets; CREATE TABLE anchor_tickets ($COLS)"
S0=$(date +%s.%N)
tail -n +"$((SKIP + 1))" "$CSV" | psql -q "$URL" -c "\\copy anchor_tickets FROM pstdin WITH (FORMAT csv)"
S1=$(date +%s.%N)
psql -q "$URL" -c "DROP TABLE anchor_tickets"
PG_IMPORT=$(python3 -c "print(round($S1-$S0,2))")

echo "rows $ROWS"
echo "import : aftercare $AC_IMPORT s | psql \\copy $PG_IMPORT s | ratio $(python3 -c "print(round($AC_IMPORT/$PG_IMPORT,2))")"
echo "metrics: aftercare $AC_METRICS s (facts copy, as on SQLite)"
