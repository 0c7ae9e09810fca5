// kafka-produce and kafka-consume (bench/kafka_workload.h): varve-broker in this process,
// librdkafka's C API as the client.

#include "bench/kafka_workload.h"

#include <librdkafka/rdkafka.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "broker/broker.h"

namespace varve::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "varve-bench";
// Stop a timed run while this much space is still free: the disk under test is shared.
constexpr int64_t kMinFreeBytes = 4LL << 30;
// A consumer that gets nothing for this long has lost messages (or the broker is stuck).
constexpr auto kConsumeStall = std::chrono::seconds(60);

// A "VmRSS:"-style field of /proc/self/status, in bytes; -1 if absent.
int64_t ProcStatusBytes(absl::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::string_view(line).substr(0, field.size()) != field) continue;
    return std::strtoll(line.c_str() + field.size(), nullptr, 10) * 1024;  // "  1234 kB"
  }
  return -1;
}

// Incompressible values, as the engine workloads use (bench/append_workload.cc): a view into
// 1 MiB of random bytes at a position that moves with the message number. The pool outlives
// every producer, so librdkafka sends from it without copying (no RD_KAFKA_MSG_F_COPY).
class Payload {
 public:
  explicit Payload(int64_t size) : size_(size) {
    pool_.resize(kPool + size);
    std::mt19937_64 random(42);
    for (size_t i = 0; i + 8 <= pool_.size(); i += 8) {
      const uint64_t v = random();
      std::memcpy(&pool_[i], &v, 8);
    }
  }
  void* Value(int64_t i) const { return const_cast<char*>(pool_.data() + (i * 4099) % kPool); }
  int64_t size() const { return size_; }

 private:
  static constexpr int64_t kPool = 1 << 20;
  const int64_t size_;
  std::string pool_;
};

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Where a producer's delivery reports go: served by rd_kafka_poll/flush on its own thread.
struct ProducerState {
  LatencyHistogram latency;
  Counter* delivered = nullptr;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* state = static_cast<ProducerState*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (state->failed++ == 0) state->first_error = m->err;
    return;
  }
  // librdkafka's own clock from produce() to now, in microseconds: no clock read of ours per
  // message (each costs ~70 ns on this VM, a tenth of the client's time per message).
  state->latency.Record(rd_kafka_message_latency(m) * 1000);
  state->delivered->value.fetch_add(1, std::memory_order_relaxed);
}

// librdkafka's own log lines: only warnings and worse, to stderr.
void OnLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 4) std::fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
}

absl::StatusOr<KafkaPtr> NewClient(rd_kafka_type_t type, int port,
                                   const std::vector<std::pair<std::string, std::string>>& settings,
                                   ProducerState* state) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& name, const std::string& value) -> absl::Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("librdkafka ", name, "=", value, ": ", err));
    }
    return absl::OkStatus();
  };
  absl::Status s = set("bootstrap.servers", absl::StrCat("127.0.0.1:", port));
  for (const auto& [name, value] : settings) {
    if (s.ok()) s = set(name, value);
  }
  // Experiments: VARVE_BENCH_RDKAFKA="name=value,..." overrides the settings above, for
  // producers and consumers alike (docs/benchmarks.md).
  if (const char* extra = std::getenv("VARVE_BENCH_RDKAFKA"); extra != nullptr && *extra) {
    for (absl::string_view item : absl::StrSplit(extra, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
      if (s.ok()) s = set(kv.first, kv.second);
    }
  }
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  rd_kafka_conf_set_log_cb(conf, OnLog);
  if (state != nullptr) {
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    rd_kafka_conf_set_opaque(conf, state);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // owns conf if it succeeds
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", err));
  }
  return KafkaPtr(rk);
}

absl::Status KafkaError(absl::string_view what, rd_kafka_resp_err_t err) {
  return absl::InternalError(
      absl::StrCat(what, ": ", rd_kafka_err2name(err), " (", rd_kafka_err2str(err), ")"));
}

absl::Status CreateTopic(int port, int partitions) {
  ASSIGN_OR_RETURN(KafkaPtr rk, NewClient(RD_KAFKA_PRODUCER, port, {}, nullptr));
  char err[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(kTopic, partitions, 1, err, sizeof err);
  if (topic == nullptr) return absl::InternalError(absl::StrCat("NewTopic: ", err));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &topic, 1, nullptr, queue);
  rd_kafka_NewTopic_destroy(topic);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60'000);
  absl::Status status;
  if (event == nullptr) {
    status = absl::DeadlineExceededError("CreateTopics: no answer in 60 s");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaError("CreateTopics", rd_kafka_event_error(event));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    if (n != 1) {
      status = absl::InternalError(absl::StrCat("CreateTopics: ", n, " results"));
    } else if (rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[0]); e != 0) {
      status = KafkaError("CreateTopics", e);
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  return status;
}

// The produce phase of both workloads. `bound` overrides options' duration/records (the load).
struct ProduceResult {
  int64_t delivered = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  LatencyHistogram latency;
  std::vector<TimelinePoint> timeline;
  std::string note;
};

absl::StatusOr<ProduceResult> Produce(const BenchOptions& options, int port,
                                      std::optional<int64_t> records,
                                      std::optional<double> duration_s, const std::string& label) {
  const int threads = options.threads;
  const Payload payload(options.record_size);
  std::vector<Counter> counters(threads);
  std::vector<ProducerState> states(threads);
  std::vector<KafkaPtr> clients;
  for (int t = 0; t < threads; ++t) {
    states[t].delivered = &counters[t];
    ASSIGN_OR_RETURN(KafkaPtr rk, NewClient(RD_KAFKA_PRODUCER, port,
                                            KafkaProducerSettings(options.acks), &states[t]));
    // Connected, with the topic's leaders known, before the clock starts.
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), kTopic, nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt, &metadata, 30'000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError("metadata", err);
    rd_kafka_metadata_destroy(metadata);
    clients.push_back(std::move(rk));
  }
  std::vector<absl::Status> errors(threads);
  std::atomic<bool> stop{false};
  std::atomic<int> running{threads};
  auto quota = [&](int t) -> int64_t {
    if (!records) return std::numeric_limits<int64_t>::max();
    return *records / threads + (t < *records % threads ? 1 : 0);
  };
  auto body = [&](int t) {
    rd_kafka_t* rk = clients[t].get();
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, kTopic, nullptr);
    const int64_t limit = quota(t);
    int64_t message = int64_t{t} << 32;
    for (int64_t sent = 0; sent < limit && !stop.load(std::memory_order_relaxed);) {
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload.Value(message), payload.size(),
                           nullptr, 0, nullptr) != 0) {
        const rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk, 1);  // serve delivery reports until there is room
          continue;
        }
        errors[t] = KafkaError("produce", err);
        stop = true;
        break;
      }
      ++message;
      if ((++sent & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    if (errors[t].ok()) {
      if (rd_kafka_resp_err_t err = rd_kafka_flush(rk, 120'000); err != 0) {
        errors[t] = KafkaError("flush", err);
      } else if (states[t].failed > 0) {
        errors[t] = KafkaError(absl::StrCat(states[t].failed, " messages failed; first"),
                               states[t].first_error);
      }
    }
    rd_kafka_topic_destroy(rkt);
    running.fetch_sub(1);
  };

  ProduceResult result;
  Progress progress(label, options.record_size, counters);
  const Clock::time_point start = Clock::now();
  const double cpu_start = ProcessCpuSeconds();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(body, t);
  const Clock::time_point deadline = duration_s
                                         ? start + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(*duration_s))
                                         : Clock::time_point::max();
  Clock::time_point last_space_check = start;
  while (running.load() > 0 && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (Interrupted().load()) {
      result.note = "interrupted";
      break;
    }
    if (now - last_space_check >= std::chrono::seconds(1)) {
      last_space_check = now;
      const int64_t free_bytes = FreeBytes(options.dir);
      if (free_bytes >= 0 && free_bytes < kMinFreeBytes) {
        result.note = absl::StrCat("stopped early: ", free_bytes >> 20, " MiB left on the disk");
        break;
      }
    }
  }
  stop = true;
  for (std::thread& th : pool) th.join();
  const Clock::time_point end = Clock::now();
  result.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  result.timeline = progress.Stop();
  clients.clear();
  for (const absl::Status& e : errors) RETURN_IF_ERROR(e);
  result.seconds = std::chrono::duration<double>(end - start).count();
  for (int t = 0; t < threads; ++t) {
    result.delivered += counters[t].value.load();
    result.latency.Merge(states[t].latency);
  }
  return result;
}

// One pass of a consumer over every partition from the beginning; returns messages read.
absl::StatusOr<int64_t> ConsumeAll(const BenchOptions& options, int port, int64_t expected,
                                   Counter* counter) {
  ASSIGN_OR_RETURN(KafkaPtr rk,
                   NewClient(RD_KAFKA_CONSUMER, port, KafkaConsumerSettings(), nullptr));
  rd_kafka_poll_set_consumer(rk.get());
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(options.partitions);
  for (int p = 0; p < options.partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, kTopic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError("assign", err);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk.get());
  absl::Status status;
  int64_t seen = 0;
  rd_kafka_message_t* batch[1024];
  Clock::time_point last_message = Clock::now();
  while (seen < expected && status.ok() && !Interrupted().load()) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 200, batch, 1024);
    if (n < 0) {
      status = KafkaError("consume", rd_kafka_last_error());
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      const rd_kafka_message_t* m = batch[i];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Not requested (enable.partition.eof=false), harmless.
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (status.ok()) status = KafkaError("consume", m->err);
      } else if (static_cast<int64_t>(m->len) != options.record_size) {
        if (status.ok()) {
          status = absl::DataLossError(absl::StrCat("partition ", m->partition, " offset ",
                                                    m->offset, ": ", m->len, " bytes, expected ",
                                                    options.record_size));
        }
      } else {
        ++seen;
      }
      rd_kafka_message_destroy(batch[i]);
    }
    counter->value.fetch_add(n, std::memory_order_relaxed);
    const Clock::time_point now = Clock::now();
    if (n > 0) {
      last_message = now;
    } else if (now - last_message > kConsumeStall) {
      status = absl::DataLossError(absl::StrCat("consumer got nothing for 60 s after ", seen,
                                                " of ", expected, " messages"));
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk.get());
  RETURN_IF_ERROR(status);
  return seen;
}

absl::StatusOr<RunResult> RunWithBroker(const BenchOptions& options, int port,
                                        const std::string& label, RunResult result) {
  if (options.workload == Workload::kKafkaProduce) {
    ASSIGN_OR_RETURN(ProduceResult produced,
                     Produce(options, port, options.records, options.duration_s, label));
    result.records = produced.delivered;
    result.seconds = produced.seconds;
    result.cpu_seconds = produced.cpu_seconds;
    result.latency = std::move(produced.latency);
    result.timeline = std::move(produced.timeline);
    result.note = produced.note;
    result.appended_bytes = produced.delivered * options.record_size;
    return result;
  }
  // kafka-consume: the load, untimed.
  ASSIGN_OR_RETURN(ProduceResult loaded,
                   Produce(options, port, options.ReadRecords(), std::nullopt, label + " (load)"));
  if (!loaded.note.empty()) {
    return absl::AbortedError(absl::StrCat("the load before consuming stopped: ", loaded.note));
  }
  if (loaded.delivered != options.ReadRecords()) {
    return absl::DataLossError(
        absl::StrCat("loaded ", loaded.delivered, " messages of ", options.ReadRecords()));
  }
  result.loaded_records = loaded.delivered;
  result.load_seconds = loaded.seconds;
  result.appended_bytes = loaded.delivered * options.record_size;
  std::vector<Counter> counters(1);
  Progress progress(label, options.record_size, counters);
  const double budget = options.duration_s.value_or(0);
  do {
    const Clock::time_point start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    absl::StatusOr<int64_t> seen = ConsumeAll(options, port, loaded.delivered, &counters[0]);
    result.seconds += std::chrono::duration<double>(Clock::now() - start).count();
    result.cpu_seconds += ProcessCpuSeconds() - cpu_start;
    if (!seen.ok()) return seen.status();
    result.records += *seen;
    ++result.passes;
    if (Interrupted().load()) {
      result.note = "interrupted";
      break;
    }
    if (*seen != loaded.delivered) {
      return absl::DataLossError(
          absl::StrCat("consumed ", *seen, " messages, loaded ", loaded.delivered));
    }
  } while (result.seconds < budget);
  result.timeline = progress.Stop();
  return result;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> KafkaProducerSettings(int acks) {
  return {
      {"acks", absl::StrCat(acks)},
      {"compression.type", "none"},
      {"linger.ms", "10"},
      {"batch.num.messages", "100000"},
      {"batch.size", "1000000"},
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "262144"},
      {"enable.idempotence", "false"},
  };
}

std::vector<std::pair<std::string, std::string>> KafkaConsumerSettings() {
  return {
      // assign() needs a group.id in librdkafka; nothing is committed and no group is joined.
      {"group.id", "varve-bench"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"fetch.max.bytes", "52428800"},
      {"max.partition.fetch.bytes", "8388608"},
      {"fetch.wait.max.ms", "100"},
      {"queued.max.messages.kbytes", "262144"},
      {"check.crcs", "false"},
  };
}

absl::StatusOr<RunResult> RunKafkaWorkload(const BenchOptions& options, const std::string& dir,
                                           const std::string& label) {
  broker::BrokerConfig config;
  config.listener = {"127.0.0.1", 0};
  config.advertised = {"127.0.0.1", 0};
  config.data_dir = dir;
  config.metrics_port = -1;
  config.num_partitions = options.partitions;
  config.log_defaults.durability = options.durability;
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Broker> broker, broker::Broker::Start(config));
  RunResult result;
  result.system = SystemKind::kVarveBroker;
  result.describe = absl::StrCat("librdkafka ", rd_kafka_version_str(), ", ", options.threads,
                                 " producer(s), acks=", options.acks);
  result.rss_start_bytes = ProcStatusBytes("VmRSS:");
  absl::Status status = CreateTopic(broker->port(), options.partitions);
  absl::StatusOr<RunResult> run =
      status.ok() ? RunWithBroker(options, broker->port(), label, std::move(result)) : status;
  // Every client is gone by now; malloc_trim returns the heap they freed (librdkafka's queued
  // messages), so what the process still holds is the broker's.
  if (run.ok()) {
    malloc_trim(0);
    run->rss_end_bytes = ProcStatusBytes("VmRSS:");
    run->rss_peak_bytes = ProcStatusBytes("VmHWM:");
  }
  absl::Status stopped = broker->Stop();
  if (!run.ok()) return run.status();
  RETURN_IF_ERROR(stopped);
  return run;
}

}  // namespace varve::bench
