// The appender of the SIGKILL test (kill_test.cc): opens a group_commit log and appends batches
// from several threads until it is killed. Each acknowledged append is reported on stdout, one
// line per append written with a single write(2) (shorter than PIPE_BUF, so lines from
// different threads never interleave):
//
//   ready                                          the log is open; appends start
//   ack <child> <thread> <seq> <base> <last>       Append returned these offsets
//
// Record contents: tests/kill_test_records.h. Any failure is printed to stderr and ends the
// process with exit code 2 (open) or 3 (append), which the parent reports: it expects SIGKILL.
//
// Usage: kill_test_child --dir=D --io_backend=io_uring|pwritev --seed=N --child=N --threads=N

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "log/log.h"
#include "tests/kill_test_records.h"

namespace varve::kill_test {
namespace {

struct Flags {
  std::string dir;
  IoBackendKind io_backend = IoBackendKind::kPwritev;
  uint64_t seed = 0;
  int64_t child = 0;
  int threads = 4;
};

[[noreturn]] void Die(int code, absl::string_view message) {
  std::fprintf(stderr, "kill_test_child: %.*s\n", static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  _exit(code);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    bool ok = true;
    if (absl::ConsumePrefix(&arg, "--dir=")) {
      flags.dir = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--io_backend=")) {
      absl::StatusOr<IoBackendKind> kind = ParseIoBackendKind(arg);
      ok = kind.ok();
      if (ok) flags.io_backend = *kind;
    } else if (absl::ConsumePrefix(&arg, "--seed=")) {
      ok = absl::SimpleAtoi(arg, &flags.seed);
    } else if (absl::ConsumePrefix(&arg, "--child=")) {
      ok = absl::SimpleAtoi(arg, &flags.child);
    } else if (absl::ConsumePrefix(&arg, "--threads=")) {
      ok = absl::SimpleAtoi(arg, &flags.threads) && flags.threads > 0;
    } else {
      ok = false;
    }
    if (!ok) Die(2, absl::StrCat("bad argument ", argv[i]));
  }
  if (flags.dir.empty()) Die(2, "--dir is required");
  return flags;
}

// One line, one write(2): the parent reads a pipe.
void WriteLine(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die(3, "write to stdout failed");
    done += static_cast<size_t>(n);
  }
}

void AppendForever(Log* log, const Flags& flags, int thread) {
  for (int64_t seq = 0;; ++seq) {
    const int n = BatchSize(flags.seed, flags.child, thread, seq);
    std::vector<ExpectedRecord> records;
    std::vector<std::vector<HeaderRef>> headers(n);
    std::vector<RecordToAppend> to_append;
    for (int i = 0; i < n; ++i)
      records.push_back(MakeRecord(flags.seed, {flags.child, thread, seq, i}));
    for (int i = 0; i < n; ++i) {
      for (const ExpectedHeader& h : records[i].headers) {
        std::optional<absl::string_view> value;
        if (h.value) value = *h.value;
        headers[i].push_back(HeaderRef{h.key, value});
      }
      std::optional<absl::string_view> key;
      if (records[i].key) key = *records[i].key;
      to_append.push_back(RecordToAppend{.key = key,
                                         .value = records[i].value,
                                         .timestamp = records[i].timestamp,
                                         .headers = headers[i]});
    }
    absl::StatusOr<AppendInfo> info = log->Append(to_append);
    if (!info.ok()) Die(3, absl::StrCat("append failed: ", info.status().ToString()));
    if (info->last_offset - info->base_offset + 1 != n) {
      Die(3, absl::StrCat("append of ", n, " records got offsets ", info->base_offset, "-",
                          info->last_offset));
    }
    WriteLine(absl::StrCat("ack ", flags.child, " ", thread, " ", seq, " ", info->base_offset, " ",
                           info->last_offset, "\n"));
  }
}

int Main(int argc, char** argv) {
  // Never outlive the test: die with the parent, and give up after a while in any case.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  alarm(300);
  const Flags flags = ParseFlags(argc, argv);
  LogOptions options;
  options.config.durability = DurabilityMode::kGroupCommit;
  options.config.segment_bytes = 64 * 1024;  // rolls are frequent, so kills land in them too
  options.io_backend = flags.io_backend;
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(flags.dir, options);
  if (!log.ok()) Die(2, absl::StrCat("open ", flags.dir, ": ", log.status().ToString()));
  if ((*log)->io_backend() != flags.io_backend) Die(2, "wrong I/O backend");
  WriteLine("ready\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < flags.threads; ++t) {
    threads.emplace_back([&, t] { AppendForever(log->get(), flags, t); });
  }
  for (std::thread& t : threads) t.join();  // never: the threads append until the kill
  return 0;
}

}  // namespace
}  // namespace varve::kill_test

int main(int argc, char** argv) { return varve::kill_test::Main(argc, argv); }
