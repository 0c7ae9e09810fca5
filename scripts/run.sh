#!/usr/bin/env bash
# The main job: installs what is missing, builds varve-broker and runs it with its embedded
# single-node default: Kafka on 127.0.0.1:9092, data in ./varve-data, Prometheus metrics on
# http://127.0.0.1:9464/metrics. Extra arguments go to the broker (--config FILE,
# --override key=value; docs/broker.md). Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bazel build -c opt //broker:varve-broker
exec "$(bazel info -c opt bazel-bin)/broker/varve-broker" "$@"
