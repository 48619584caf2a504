#!/usr/bin/env bash
# Dirty data at line vs page granularity for real programs (docs/experiments.md).
# Records each program's memory accesses under valgrind lackey into out/traces/,
# replays each on the host model against the device (configs/sim.toml), checks the
# harvested dirty lines and pages against the trace's own count, and writes the
# table into docs/experiments.md between its marker comments.
#
#   bash ci/experiments.sh [--traces-only]
#
# Idempotent: a trace is recorded only when missing (FORCE=1 records them all again).
# LINEWATCH=FILE uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
[[ $# -eq 0 || ($# -eq 1 && $1 == --traces-only) ]] || { echo "usage: bash ci/experiments.sh [--traces-only]" >&2; exit 2; }

# Tools, installed as ci/bootstrap.sh does. The traced programs are Debian's
# binaries by absolute path: valgrind does not follow exec, so no wrapper or shim.
TOOLS=(/usr/bin/sqlite3:sqlite3 valgrind:valgrind /usr/bin/gzip:gzip /usr/bin/python3:python3)
source ci/apt.sh
apt_need experiments "${TOOLS[@]}"
PY=$(realpath /usr/bin/python3) # the interpreter itself, not a symlink chain

if [[ -z ${LINEWATCH:-} ]]; then
  nice cargo build --release --bin linewatch
  LINEWATCH=${CARGO_TARGET_DIR:-target}/release/linewatch
fi
[[ -x $LINEWATCH ]] || { echo "experiments: no linewatch binary at $LINEWATCH" >&2; exit 1; }

T=out/traces W=out/work R=out/experiments
mkdir -p "$T" "$W" "$R"

# Inputs, all deterministic.
# 1. An SQL workload on an in-memory database.
cat >"$W/sqlite.sql" <<'EOF'
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, amount REAL, note TEXT);
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 4000)
INSERT INTO orders SELECT i, 'customer-' || (i * 7919 % 251), (i * 37 % 1000) / 10.0,
                          printf('order %d of a small SQL workload', i) FROM s;
COMMIT;
CREATE INDEX orders_customer ON orders(customer);
UPDATE orders SET amount = amount * 1.1 WHERE id % 7 = 0;
DELETE FROM orders WHERE id % 13 = 0;
SELECT customer, count(*), round(sum(amount), 2) FROM orders GROUP BY customer
  ORDER BY 3 DESC LIMIT 3;
SELECT count(*) FROM orders WHERE customer = 'customer-42' AND amount > 50;
EOF
# 2. A file for gzip.
seq 1 20000 >"$W/gzip.in"
# 3. Key-value store: 131,072 keys with 56-byte values in an SQLite B-tree, built
#    untraced. The traced run reads its pages with read(), whose copies lackey does
#    not see, so the store starts clean; it then gets and puts 2,000 keys each,
#    random (a multiplicative hash of 1..2000) or sequential (0..1999).
KEYS=131072 OPS=2000
if [[ ! -f $W/kv.db ]]; then
  /usr/bin/sqlite3 "$W/kv.db.tmp" "CREATE TABLE kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL);
    WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $KEYS - 1)
    INSERT INTO kv SELECT i, zeroblob(56) FROM s;"
  mv "$W/kv.db.tmp" "$W/kv.db"
fi
kv_sql() { # $1: the key of step i (0-based)
  cat <<EOF
PRAGMA cache_size = -65536;
SELECT count(*), sum(length(v)) FROM kv WHERE k IN (
  WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $OPS - 1)
  SELECT $1 FROM s);
UPDATE kv SET v = printf('%-56d', k + 1) WHERE k IN (
  WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $OPS - 1)
  SELECT $1 FROM s);
EOF
}
kv_sql "((i + 1) * 2654435761 % 4294967296) / (4294967296 / $KEYS)" >"$W/kv-random.sql"
kv_sql "i" >"$W/kv-sequential.sql"

# record NAME [< INPUT] -- CMD...: the trace out/traces/NAME.bin, unless present.
record() {
  local name=$1 input=/dev/null
  shift
  [[ $1 == "<" ]] && { input=$2; shift 2; }
  [[ $1 == "--" ]] && shift
  if [[ -f $T/$name.bin && -z ${FORCE:-} ]]; then
    echo "experiments: $T/$name.bin present (FORCE=1 records again)"
    return
  fi
  echo "experiments: recording $name: $*"
  local t0=$SECONDS
  PYTHONHASHSEED=0 nice "$LINEWATCH" trace record --out "$T/$name.bin" --json -- "$@" <"$input" >"$R/$name.record.out"
  tail -n1 "$R/$name.record.out" >"$R/$name.record.json"
  echo "experiments: $name recorded in $((SECONDS - t0)) s: $(cat "$R/$name.record.json")"
}

NAMES=(sqlite python gzip kv-random kv-sequential)
record sqlite "<" "$W/sqlite.sql" -- /usr/bin/sqlite3 :memory:
record python -- "$PY" -S ci/workloads/textstats.py 5000
record gzip -- /usr/bin/gzip -6 -k -f "$W/gzip.in" # writes gzip.in.gz
for mode in random sequential; do
  [[ -f $T/kv-$mode.bin && -z ${FORCE:-} ]] || cp "$W/kv.db" "$W/kv-$mode.db" # a fresh copy: the run commits
  record "kv-$mode" "<" "$W/kv-$mode.sql" -- /usr/bin/sqlite3 "$W/kv-$mode.db"
done
[[ ${1:-} == "--traces-only" ]] && exit 0

# Replay each trace on the simulated host and device, and count the trace itself.
for name in "${NAMES[@]}"; do
  echo "experiments: simulating $name"
  nice "$LINEWATCH" sim --config configs/sim.toml --trace "$T/$name.bin" --json | tail -n1 >"$R/$name.sim.json"
  nice "$LINEWATCH" trace stats --in "$T/$name.bin" --json | tail -n1 >"$R/$name.stats.json"
done

# Check exactness and write the table (fails, leaving the page as it was, on a mismatch).
python3 ci/experiments_report.py "$R" docs/experiments.md "${NAMES[@]}"
echo "experiments: done in $((SECONDS - start)) s"
