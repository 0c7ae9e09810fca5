#pragma once

// kafka-produce and kafka-consume: varve-broker (varve::broker::Broker) started in this process
// on 127.0.0.1 (a port chosen at run time, metrics off, data in the run's directory), driven
// by librdkafka's C API over loopback — client and broker share the machine, as the issue's
// speed targets require. There is no baseline: the figures are the broker's alone.
//
// Example (what main() does for these workloads):
//   ASSIGN_OR_RETURN(RunResult result, RunKafkaWorkload(options, "/d/varve-bench.1/vb", label));
//
// kafka-produce: CreateTopics with options.partitions, then options.threads producer instances
// (one thread and one rd_kafka_t each) send options.record_size-byte incompressible values with
// a null key and acks = options.acks, for options.duration_s or until options.records are
// delivered, then flush; all of it timed. Only messages with a successful delivery report
// count; latency is from the produce() call to the delivery report, one sample per message.
//
// kafka-consume: loads options.ReadRecords() messages as kafka-produce does (untimed), then a
// consumer assign()s every partition from the beginning (no subscription, no offsets
// committed) and reads until it has every loaded message, checking each value's size — once
// with --records, repeatedly (a new consumer per pass) until options.duration_s otherwise.
//
// Both record the process's VmRSS once the broker has started and once the clients are gone
// (RunResult::rss_*), and the record bytes appended (RunResult::appended_bytes).
//
// Errors: a broker that does not start, a failed CreateTopics, a failed delivery (the first
// one's error), a consumer that sees an error or gets no message for 60 s, a count mismatch
// (DataLoss).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/options.h"
#include "bench/workload.h"

namespace varve::bench {

absl::StatusOr<RunResult> RunKafkaWorkload(const BenchOptions& options, const std::string& dir,
                                           const std::string& label);

// The librdkafka settings the workloads use beyond bootstrap.servers, as (name, value), in the
// order applied (docs/benchmarks.md explains each).
std::vector<std::pair<std::string, std::string>> KafkaProducerSettings(int acks);
std::vector<std::pair<std::string, std::string>> KafkaConsumerSettings();

}  // namespace varve::bench
