#!/usr/bin/env bash
# Reruns broker/protocol/gen/generate.py into a temporary directory and fails if its output differs
# from the checked-in broker/protocol/generated/. The schemas live outside the repository, in
# shared/kafka/schemas beside it (in CI the repository is cloned next to shared/): this looks in
# $VARVE_SHARED_DIR if set (pass it with --test_env), else beside the repository, then in
# /work/shared, and fails if it finds none. Fix a failure by running
#   python3 broker/protocol/gen/generate.py
# and checking in the result.
set -uo pipefail

generator=broker/protocol/gen/generate.py
checked_in=broker/protocol/generated
if [[ ! -f "$generator" || ! -d "$checked_in" ]]; then
  echo "FAIL: $generator or $checked_in is missing from the runfiles ($PWD)" >&2
  exit 1
fi
# The runfiles are symlinks into the source tree: the repository root is three levels above the
# generator's real path.
repo_root=$(dirname "$(dirname "$(dirname "$(dirname "$(readlink -f "$generator")")")")")

# An explicit VARVE_SHARED_DIR must hold the schemas; otherwise look beside the repository.
if [[ -n "${VARVE_SHARED_DIR:-}" ]]; then
  candidates=("$VARVE_SHARED_DIR/kafka/schemas")
else
  candidates=("$(dirname "$repo_root")/shared/kafka/schemas" /work/shared/kafka/schemas)
fi
schemas=""
for dir in "${candidates[@]}"; do
  if compgen -G "$dir/*Request.json" >/dev/null; then
    schemas=$dir
    break
  fi
done
if [[ -z "$schemas" ]]; then
  echo "FAIL: cannot find the Kafka schemas; looked in: ${candidates[*]}" >&2
  echo "Set VARVE_SHARED_DIR (bazel test --test_env=VARVE_SHARED_DIR=/path/to/shared)." >&2
  exit 1
fi
echo "schemas: $schemas"

out=${TEST_TMPDIR:-$(mktemp -d)}/generated
if ! python3 "$generator" --schemas "$schemas" --out "$out"; then
  echo "FAIL: generate.py failed" >&2
  exit 1
fi
if ! diff -r -u "$checked_in" "$out" >"$out.diff" 2>&1; then
  echo "FAIL: broker/protocol/generated/ is not what generate.py writes from $schemas:" >&2
  head -n 200 "$out.diff" >&2
  echo "Run: python3 broker/protocol/gen/generate.py, then check in broker/protocol/generated/." >&2
  exit 1
fi
echo "broker/protocol/generated/ is up to date ($(ls "$out" | wc -l) files)"
