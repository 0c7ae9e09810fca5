#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks formatting, runs every test, runs the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer and the concurrency tests
# under ThreadSanitizer, then runs each fuzzer for a bounded time (scripts/fuzz.sh). Ends with one
# line "N passed, M failed" (test cases).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

total_passed=0
total_failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

record() {  # record PHASE PASSED FAILED
  echo "== $1: $2 passed, $3 failed"
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
}

# 1. Formatting: every C++ file must be clang-formatted.
unformatted=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done < <(git ls-files '*.cc' '*.h')
if ((${#unformatted[@]} > 0)); then
  echo "clang-format differences in: ${unformatted[*]}"
  record clang-format 0 1
else
  record clang-format 1 0
fi

# 2. Test phases. Each: label, then bazel arguments.
run_phase() {
  local label=$1
  shift
  local log="$work/$label.log"
  echo "== $label: bazel test $*"
  bazel test "$@" 2>&1 | tee "$log" | grep -E '^(//|ERROR|FAIL|Executed)' 
  local rc=${PIPESTATUS[0]}
  # Exit code 4 means "no test targets matched", which is not a failure of the suite.
  [[ $rc -eq 4 ]] && rc=0
  read -r p f < <(/usr/bin/python3 scripts/count_tests.py "$log" "$(bazel info "${@:1:$#-1}" bazel-testlogs 2>/dev/null)" "$rc")
  record "$label" "$p" "$f"
}

run_phase tests //...
run_phase asan --config=asan --build_tests_only --test_tag_filters=-no_asan //...
run_phase tsan --config=tsan --build_tests_only --test_tag_filters=tsan //...

# 3. Fuzzing: each libFuzzer target runs for VARVE_FUZZ_SECONDS (default 60; 0 skips the phase),
# built with clang. Each fuzzer is one case: ok, or a crash (or a build failure).
fuzz_seconds=${VARVE_FUZZ_SECONDS:-60}
if [[ "$fuzz_seconds" != 0 ]]; then
  echo "== fuzz: scripts/fuzz.sh $fuzz_seconds"
  bash scripts/fuzz.sh "$fuzz_seconds" | tee "$work/fuzz.log"
  fuzz_rc=${PIPESTATUS[0]}
  fuzz_passed=$(grep -c '^fuzz [^ ]*: ok ' "$work/fuzz.log")
  fuzz_failed=$(($(grep -c '^fuzz [^ ]*: ' "$work/fuzz.log") - fuzz_passed))
  # A failure before any fuzzer reported (a bad argument, say) still counts once.
  if [[ $fuzz_rc -ne 0 && $fuzz_failed -eq 0 ]]; then fuzz_failed=1; fi
  record fuzz "$fuzz_passed" "$fuzz_failed"
fi

if [[ "${CI:-}" == "true" ]]; then bazel shutdown >/dev/null 2>&1; fi

echo "${total_passed} passed, ${total_failed} failed"
[[ $total_failed -eq 0 ]]
