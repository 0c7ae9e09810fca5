#!/usr/bin/env bash
# Checks that README.md quotes examples/embed.cc verbatim and that the example runs: it appends
# three records, reads them back, and a second run continues at offset 3.
set -euo pipefail
readme=README.md
example=examples/embed.cc
binary=examples/embed

# The ```cpp block that follows the marker line in the README.
quoted=$(awk '/<!-- embed.cc -->/{found=1; next} found && /^```cpp/{inblock=1; next}
              inblock && /^```/{exit} inblock{print}' "$readme")
if [[ "$quoted" != "$(cat "$example")" ]]; then
  echo "README.md's embedding example differs from $example:" >&2
  diff <(echo "$quoted") "$example" >&2 || true
  exit 1
fi

data=$(mktemp -d "${TEST_TMPDIR:-/tmp}/embed.XXXXXX")
out=$("$binary" "$data")
echo "$out"
grep -qx 'appended offsets 0..2' <<<"$out"
grep -qx 'offset 1 key=user-1 value=paid' <<<"$out"
grep -qx 'offset 2 key=(null) value=no key' <<<"$out"
out=$("$binary" "$data")
grep -qx 'appended offsets 3..5' <<<"$out"
test -f "$data/demo-0/00000000000000000000.log"
echo "ok"
