#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs it. Until the broker lands this is
# the engine demo (examples/embed.cc): it appends three records to ./varve-data/demo-0 and
# reads them back; run it again and the log continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p varve-data
bazel run //examples:embed -- "$PWD/varve-data"
