#!/usr/bin/env bash
# Runs one consumer-group test file:
#   run_group_test.sh TEST.py BROKER_FIXTURE.py VARVE_BROKER [unittest names...]
# The fixture lives in tests/clients; its directory goes on PYTHONPATH. /usr/bin/python3 is the
# only Python with confluent_kafka and kafka-python (Debian packages); -B keeps __pycache__ out
# of the source tree.
set -euo pipefail
test_py="$1"
fixture="$2"
shift 2
export PYTHONPATH="$(cd "$(dirname "$fixture")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -B "$test_py" "$@"
