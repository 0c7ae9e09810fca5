#!/usr/bin/env bash
# Runs varve-bench's kafka workloads end to end for a few thousand messages on a temporary
# directory (the broker in process on 127.0.0.1, librdkafka as the client): the text table,
# the JSON (checked with /usr/bin/python3: keys present, counts exact, RSS reported), --keep,
# and exit status 2 for bad arguments. Nothing about speed.
set -euo pipefail
bench=bench/varve-bench
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/kafka-workload-test.XXXXXX")
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

data="$dir/data"
mkdir "$data"
expect_status 2 kafka-produce --dir "$data" --acks 2
expect_status 2 kafka-produce --dir "$data" --systems varve
expect_status 2 append --dir "$data" --acks -1

check_json() {  # check_json FILE WORKLOAD RECORDS ACKS
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, workload, records, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
doc = json.load(open(path))
config = doc["config"]
assert config["workload"] == workload, config
assert config["kafka_acks"] == acks, config
assert config["systems"] == ["varve-broker"], config
assert "no baseline" in config["baseline"], config
assert doc["ratios"] == {}, doc["ratios"]
assert len(doc["results"]) == 1, doc["results"]
r = doc["results"][0]
assert r["system"] == "varve-broker" and r["workload"] == workload, r
assert r["records"] == records, (r["records"], records)
keys = ["records_per_s", "mb_per_s", "seconds", "rss_start_bytes", "rss_end_bytes",
        "rss_peak_bytes", "appended_bytes"]
if workload == "kafka-produce":
    keys += ["p50_us", "p99_us", "p999_us"]
    assert r["acks"] == records, r  # one latency sample per delivered message
    assert r["p50_us"] <= r["p99_us"] <= r["p999_us"], r
else:
    assert r["passes"] == 1 and r["loaded_records"] == records, r
    assert "p50_us" not in r, r
for key in keys:
    assert isinstance(r[key], (int, float)) and r[key] > 0, (key, r.get(key))
assert "rss_growth_bytes_per_gb" in r, r
assert r["appended_bytes"] == records * config["record_size"], r
print(path, "ok")
PY
}

expect_status 0 kafka-produce --dir "$data" --records 20000 --record-size 100 --acks 1 \
  --json "$dir/produce.json"
grep -q 'no baseline' "$dir/out"
grep -q 'varve-broker' "$dir/out"
check_json "$dir/produce.json" kafka-produce 20000 1

expect_status 0 kafka-produce --dir "$data" --records 5000 --record-size 1024 --acks -1 \
  --partitions 3 --threads 2 --json "$dir/durable.json"
check_json "$dir/durable.json" kafka-produce 5000 -1

expect_status 0 kafka-produce --dir "$data" --records 3000 --acks 0 --json "$dir/acks0.json"
check_json "$dir/acks0.json" kafka-produce 3000 0

expect_status 0 kafka-consume --dir "$data" --records 20000 --record-size 100 --partitions 2 \
  --json "$dir/consume.json"
check_json "$dir/consume.json" kafka-consume 20000 1

if [[ -n "$(ls -A "$data")" ]]; then
  echo "varve-bench left files in $data: $(ls -A "$data")" >&2
  exit 1
fi
expect_status 0 kafka-produce --dir "$data" --records 500 --keep
ls -d "$data"/varve-bench.*/varve-broker/varve-bench-0 >/dev/null
grep -q 'kept the varve log' "$dir/err"
echo "ok"
