#!/usr/bin/env bash
# Runs one real-client test file: run_python_test.sh TEST.py VARVE_BROKER [unittest names...].
# /usr/bin/python3 is the only Python with confluent_kafka and kafka-python (Debian packages);
# -B keeps __pycache__ out of the source tree.
set -euo pipefail
exec /usr/bin/python3 -B "$@"
