#!/usr/bin/env bash
# Runs varve-bench end to end for a few thousand records per workload on a temporary directory:
# every system, the text table, the JSON (checked with /usr/bin/python3: keys present, numbers
# positive), --keep, --plot, and exit status 2 for bad arguments. Nothing about speed.
set -euo pipefail
bench=bench/varve-bench
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/varve-bench-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

expect_status() {  # expect_status CODE ARGS...: runs varve-bench, checks the exit status
  local want=$1
  shift
  local got=0
  "$bench" "$@" >"$dir/out" 2>"$dir/err" || got=$?
  if [[ $got -ne $want ]]; then
    echo "varve-bench $* exited $got, want $want" >&2
    cat "$dir/out" "$dir/err" >&2
    exit 1
  fi
}

# Bad arguments: exit status 2 and the usage.
expect_status 2
expect_status 2 append
expect_status 2 nosuch --dir "$dir"
expect_status 2 append --dir "$dir" --threads zero
expect_status 2 append --dir "$dir" --duration 1 --records 10
expect_status 2 durable-append --dir "$dir" --durability page_cache
expect_status 2 append --dir "$dir/missing"
grep -q 'usage: varve-bench WORKLOAD' "$dir/err" || grep -q 'not an existing directory' "$dir/err"
expect_status 0 --help
grep -q 'usage: varve-bench WORKLOAD' "$dir/out"

check_json() {  # check_json FILE WORKLOAD
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys
path, workload = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
assert set(doc) >= {"config", "results"}, doc.keys()
config = doc["config"]
for key in ("workload", "dir", "record_size", "batch_records", "threads", "partitions",
            "durability", "records", "host"):
    assert key in config, key
assert config["workload"] == workload
systems = [r["system"] for r in doc["results"]]
assert systems == ["varve", "plain-file", "rocksdb"], systems
for r in doc["results"]:
    assert r["workload"] == workload, r
    keys = ["records_per_s", "mb_per_s", "records", "seconds"]
    if workload != "read":
        keys += ["p50_us", "p99_us", "p999_us"]
    for key in keys:
        assert isinstance(r[key], (int, float)) and r[key] > 0, (r["system"], key, r.get(key))
    if workload != "read":
        assert r["p50_us"] <= r["p99_us"] <= r["p999_us"], r
assert set(doc["ratios"]) == {"varve/plain-file", "varve/rocksdb"}, doc["ratios"]
print(path, "ok")
EOF
}

data="$dir/data"
mkdir "$data"
expect_status 0 append --dir "$data" --records 3000 --record-size 200 --batch-records 50 \
  --threads 2 --json "$dir/append.json"
grep -q 'varve / plain-file' "$dir/out"
check_json "$dir/append.json" append

expect_status 0 durable-append --dir "$data" --records 2000 --batch-records 20 --threads 4 \
  --partitions 2 --json "$dir/durable.json"
check_json "$dir/durable.json" durable-append

expect_status 0 read --dir "$data" --records 5000 --record-size 100 --threads 2 --partitions 2 \
  --json "$dir/read.json"
grep -q 'warm cache' "$dir/out"
check_json "$dir/read.json" read

expect_status 0 append --dir "$data" --records 1000 --durability interval --systems varve,rocksdb
# Nothing is left behind without --keep; --keep leaves a varve log in Kafka's layout.
if [[ -n "$(ls -A "$data")" ]]; then
  echo "varve-bench left files in $data: $(ls -A "$data")" >&2
  exit 1
fi
expect_status 0 append --dir "$data" --records 500 --systems varve --keep
ls "$data"/varve-bench.*/varve/bench-0/00000000000000000000.log >/dev/null
grep -q 'kept the varve log' "$dir/err"

if command -v gnuplot >/dev/null; then
  expect_status 0 durable-append --dir "$data" --records 500 --batch-records 10 --threads 2 \
    --plot "$dir/plot.png"
  [[ "$(head -c 4 "$dir/plot.png" | od -An -c | tr -d ' ')" == *PNG* ]]
else
  expect_status 1 append --dir "$data" --records 10 --plot "$dir/plot.png"
  grep -q 'gnuplot-nox' "$dir/err"
fi
echo "ok"
