#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets with clang (--config=fuzz) and runs each for a bounded
# time, starting from a writable copy of its seed corpus (<package>/testdata/fuzz/<fuzzer>/, e.g.
# log/testdata/fuzz/batch_fuzzer/). Prints one line per fuzzer, "fuzz <name>: ok (<runs> runs)"
# or "fuzz <name>: CRASH <artifact>" (or "fuzz <name>: FAILED ..." when it did not build or died
# without an artifact), and exits non-zero unless every fuzzer was ok. How to turn a crash into a
# regression test: docs/building.md, "Fuzzing".
#
# Usage: scripts/fuzz.sh [SECONDS [FUZZER...]]    (default: 60 seconds, every fuzzer)
# Environment:
#   BAZEL_STARTUP_OPTS     bazel startup options, e.g. "--output_base=/tmp/ob" (default: none)
#   VARVE_FUZZ_ARTIFACTS   where crashing inputs and logs are kept (default: /tmp/varve-fuzz)
#   VARVE_FUZZ_JOBS        fuzzers run at once (default: the number of cores)
set -uo pipefail
cd "$(dirname "$0")/.."

# Every fuzzer and the package it is in.
declare -A package=(
  [batch_fuzzer]=log
  [segment_recovery_fuzzer]=log
  [request_fuzzer]=broker/protocol
)
all_fuzzers=(batch_fuzzer segment_recovery_fuzzer request_fuzzer)
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
fuzzers=("$@")
((${#fuzzers[@]} > 0)) || fuzzers=("${all_fuzzers[@]}")
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  # libFuzzer reads -max_total_time=0 as "no limit".
  echo "fuzz.sh: SECONDS must be a positive integer, not '$seconds'" >&2
  exit 2
fi
for f in "${fuzzers[@]}"; do
  if [[ -z "${package[$f]:-}" ]]; then
    echo "fuzz.sh: unknown fuzzer '$f' (known: ${all_fuzzers[*]})" >&2
    exit 2
  fi
done
read -ra startup <<<"${BAZEL_STARTUP_OPTS:-}"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# segment_recovery_fuzzer writes files for every input under $TEST_TMPDIR: use memory if we can.
if [[ -z "${TEST_TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then export TEST_TMPDIR=/dev/shm; fi
max_jobs=${VARVE_FUZZ_JOBS:-$(nproc)}
artifacts_root=${VARVE_FUZZ_ARTIFACTS:-/tmp/varve-fuzz}
mkdir -p "$artifacts_root"
out=$(mktemp -d "$artifacts_root/run-XXXXXX")
corpora=$(mktemp -d)
trap 'rm -rf "$corpora"' EXIT

targets=()
for f in "${fuzzers[@]}"; do targets+=("//${package[$f]}:$f"); done
echo "fuzz.sh: building ${targets[*]} with --config=fuzz" >&2
if ! bazel "${startup[@]}" build --config=fuzz "${targets[@]}" >"$out/build.log" 2>&1; then
  # gold's "Cannot export local symbol" warnings about ASan internals are noise.
  grep -v 'Cannot export local symbol' "$out/build.log" | tail -n 30 >&2
  for f in "${fuzzers[@]}"; do echo "fuzz $f: FAILED to build (log $out/build.log)"; done
  exit 1
fi
bin=$(bazel "${startup[@]}" info --config=fuzz bazel-bin 2>/dev/null)

# Runs one fuzzer; its outcome goes to $out/<name>.result.
run_one() {
  local name=$1
  local log="$out/$name.log"
  mkdir -p "$out/$name"
  cp -r "${package[$name]}/testdata/fuzz/$name" "$corpora/$name"
  # -max_total_time bounds the run; `timeout` is the safety net should libFuzzer hang anyway.
  timeout --kill-after=30 $((seconds + 120)) "$bin/${package[$name]}/$name" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$out/$name/" "$corpora/$name" >"$log" 2>&1
  local rc=$?
  local runs artifact
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  # Slow units are written too ("slow-unit-..."), so only a failing exit marks a crash.
  artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
  if ((rc == 0)); then
    echo "fuzz $name: ok (${runs:-?} runs)"
  elif [[ -n "$artifact" ]]; then
    echo "fuzz $name: CRASH $artifact"
  elif ((rc == 124 || rc == 137)); then
    echo "fuzz $name: FAILED (still running after $((seconds + 120))s, log $log)"
  else
    echo "fuzz $name: FAILED (exit $rc without an artifact, log $log)"
  fi >"$out/$name.result"
}

for f in "${fuzzers[@]}"; do
  while (($(jobs -rp | wc -l) >= max_jobs)); do wait -n; done
  run_one "$f" &
done
wait

failed=0
for f in "${fuzzers[@]}"; do
  result=$(cat "$out/$f.result" 2>/dev/null || echo "fuzz $f: FAILED (no result)")
  echo "$result"
  if [[ "$result" != "fuzz $f: ok "* ]]; then
    failed=1
    # The report: the sanitizer's or the invariant's message and the top of the stack.
    sed -n '/ERROR\|FUZZ_CHECK\|runtime error\|deadly signal/,$p' "$out/$f.log" | head -n 40 >&2
  fi
done
if ((failed == 0)); then
  rm -rf "$out"
else
  echo "fuzz.sh: logs and crashing inputs are in $out" >&2
fi
exit "$failed"
