#!/usr/bin/env bash
# Installs every Debian package varve's build and tests need. Idempotent: installs only what is
# missing, and runs `apt-get update` only when something is.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap bazel-rules-java g++ clang-14 clang-format libclang-rt-14-dev
  # libraries (wrapped in third_party/BUILD.bazel)
  libabsl-dev liburing-dev libxxhash-dev librocksdb-dev libgtest-dev libgmock-dev
  libbenchmark-dev libsnappy-dev liblz4-dev libzstd-dev zlib1g-dev
  # real Kafka clients for the broker's tests (kafka-python and confluent-kafka import only
  # under /usr/bin/python3) and librdkafka's C API for varve-bench's broker workloads
  kcat librdkafka-dev python3-confluent-kafka python3-kafka
  # test tooling
  python3 git gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
  "${missing[@]}" >&2
