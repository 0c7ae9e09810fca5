#!/usr/bin/env bash
# Runs the real varve-dump binary: exit statuses, output lines, JSON validity, read-only-ness.
# Usage (from Bazel): varve_dump_binary_test.sh VARVE_DUMP WRITE_DUMP_FIXTURES
set -uo pipefail
dump=$1
writer=$2
work=${TEST_TMPDIR:-$(mktemp -d)}/binary-test
rm -rf "$work" && mkdir -p "$work"
"$writer" "$work" || { echo "FAIL: fixture writer"; exit 1; }
clean=$work/clean/orders-0
corrupt=$work/corrupt/orders-0
failures=0

# expect NAME STATUS PATTERN -- ARGS...: runs varve-dump ARGS, checks the exit status and that
# stdout+stderr match the extended regular expression PATTERN.
expect() {
  local name=$1 status=$2 pattern=$3
  shift 4
  local out rc
  out=$("$dump" "$@" 2>&1)
  rc=$?
  if [[ $rc -ne $status ]]; then
    echo "FAIL $name: exit status $rc, expected $status"; echo "$out" | head -20
    failures=$((failures + 1))
  elif ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL $name: no line matches /$pattern/"; echo "$out" | head -20
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

before=$(cd "$work" && find . -type f -exec md5sum {} + | sort)

expect help 0 '^Usage: varve-dump' -- --help
expect dump 0 '^baseOffset: 36 lastOffset: 39 count: 4 position: [0-9]+ size: [0-9]+ .*compression: zstd .*isValid: true$' -- "$clean"
expect records 0 '^\| offset: 117 timestamp: 1714564800117 keySize: 4 valueSize: 44 key: "k117" value: "v117\.+" headers: \[\]$' -- --records "$clean"
expect indexes 0 '^timestamp: 1714564800039 offset: 39$' -- --indexes "$clean"
expect verify-clean 0 '^summary: clean logs: 1 segments: 3 batches: 30 records: 120 ' -- --verify "$clean"
expect verify-corrupt 1 "^problem: crc_mismatch file: $corrupt/00000000000000000040.log position: [0-9]+ " -- --verify "$corrupt"
expect verify-corrupt-summary 1 '^summary: corrupt .* problems: 1$' -- --verify "$corrupt"
expect range 0 '^baseOffset: 60 ' -- --from-offset=61 --to-offset=62 "$clean"
expect time-range 0 '^\| offset: 50 ' -- --records --from-time=2024-05-01T12:00:00.050Z --to-time=1714564800050 "$clean"
expect unknown-flag 2 'varve-dump: unknown flag --bogus' -- --bogus "$clean"
expect missing-path 2 'no such file or directory' -- "$work/nothing"
expect bad-time 2 'cannot read "noon" as a time' -- --from-time=noon "$clean"

# The digest of a copy is the same; of the corrupt copy, different.
d_clean=$("$dump" --digest "$clean" | awk '/^digest:/ {print $2}')
d_copy=$("$dump" --digest "$work/clean/orders-0/" | awk '/^digest:/ {print $2}')
d_corrupt=$("$dump" --digest "$corrupt" | awk '/^digest:/ {print $2}')
if [[ -z $d_clean || $d_clean != "$d_copy" || $d_clean == "$d_corrupt" ]]; then
  echo "FAIL digest: clean=$d_clean copy=$d_copy corrupt=$d_corrupt"; failures=$((failures + 1))
else
  echo "ok   digest"
fi

# Every --json line is one JSON object with a type (the corrupt log makes the status 1).
if command -v python3 >/dev/null; then
  json=$("$dump" --json --records --indexes "$clean" "$corrupt")
  if [[ $? -eq 1 ]] && python3 -c 'import json, sys
lines = sys.stdin.read().splitlines()
assert lines
for line in lines:
    assert "type" in json.loads(line), line' <<<"$json"; then
    echo "ok   json"
  else
    echo "FAIL json: invalid JSON line or wrong status"; failures=$((failures + 1))
  fi
fi

after=$(cd "$work" && find . -type f -exec md5sum {} + | sort)
if [[ "$before" != "$after" ]]; then
  echo "FAIL read-only: files changed"; failures=$((failures + 1))
else
  echo "ok   read-only"
fi

echo "$failures failures"
[[ $failures -eq 0 ]]
