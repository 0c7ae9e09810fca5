// The SIGKILL test: a child process (kill_test_child.cc) appends to a group_commit log from
// several threads and reports every acknowledged append on a pipe; the test kills it with
// SIGKILL at a random moment, reopens the log, and checks that
//   * every acknowledged batch is present, once, at the offsets it was acknowledged with, and
//     byte-identical in key, value, headers and timestamp to what the child built;
//   * offsets are dense from the start offset to the end offset and every batch passes its CRC
//     (through LogReader and through Read() slices iterated with BatchIterator);
//   * batches that were never acknowledged (written, then the kill came before the report) are
//     whole and content-correct too, and each appender thread's batches form a gap-free run
//     that ends at most one batch past its last acknowledgement.
// Rounds repeat on the same directory, so later children open a log that was killed and
// recovered; some rounds kill two children in a row before checking, so a child also recovers
// a killed log itself. Once per I/O backend (io_uring is skipped where the kernel forbids it).
//
// The seed is printed as "seed=N" and named by every failure; replay with VARVE_KILL_SEED=N.
// Bounded by kRounds and by kBudget, whichever comes first.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/log.h"
#include "tests/kill_test_records.h"

namespace varve::kill_test {
namespace {

constexpr int kRounds = 25;
// Per backend. A safety bound for slow machines (and sanitizers); rounds normally finish first.
constexpr std::chrono::seconds kBudget(30);
constexpr int kThreads = 4;
// Safety nets only: how long a child may take to open its log, and to die once killed.
constexpr int kReadyTimeoutMs = 120'000;
// The parent applies this retention after checking, so the directory stays small.
constexpr int64_t kRetentionBytes = 4 << 20;

using Clock = std::chrono::steady_clock;

uint64_t Seed() {
  uint64_t seed;
  const char* env = std::getenv("VARVE_KILL_SEED");
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
}

std::string ChildPath() {
  // Tests run in the runfiles tree of the workspace.
  const std::string path = "tests/kill_test_child";
  if (access(path.c_str(), X_OK) == 0) return path;
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/varve/", path);
}

// One batch a child acknowledged.
struct Ack {
  int64_t child, thread, seq, base_offset, last_offset;
};

// A running child with the read end of its stdout pipe. The destructor kills and reaps it, so
// no path (a failed assertion included) leaves a process or a descriptor behind.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (fd_ >= 0) close(fd_);
  }

  // fork + exec of `args[0]` with stdout on a pipe; stderr stays the test's.
  ::testing::AssertionResult Start(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ::testing::AssertionFailure() << "pipe2: " << errno;
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return ::testing::AssertionFailure() << "fork: " << errno;
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(126);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid_ = pid;
    fd_ = fds[0];
    return ::testing::AssertionSuccess();
  }

  // Reads what is available within `timeout_ms` (-1: until EOF). Returns false at EOF.
  bool Pump(int timeout_ms) {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      int wait_ms = -1;
      if (timeout_ms >= 0) {
        wait_ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
        if (wait_ms < 0) return true;
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return ready == 0;
      char buf[64 * 1024];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      pending_.append(buf, n);
      size_t newline;
      while ((newline = pending_.find('\n')) != std::string::npos) {
        lines_.push_back(pending_.substr(0, newline));
        pending_.erase(0, newline + 1);
      }
    }
  }

  // Waits for the "ready" line; false if the child ended first or took too long.
  bool WaitReady() {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
    while (Clock::now() < deadline) {
      for (const std::string& line : lines_) {
        if (line == "ready") return true;
      }
      if (!Pump(100)) return false;
    }
    return false;
  }

  // SIGKILL, reap, and read what the pipe still holds. Returns how the child ended.
  int KillAndReap() {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    while (Pump(-1)) {
    }
    return status;
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;  // a line not yet complete (never completed if the kill cut it)
  std::vector<std::string> lines_;
};

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  return absl::StrCat("wait status ", status);
}

std::optional<Ack> ParseAck(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  Ack a;
  if (f.size() != 6 || f[0] != "ack" || !absl::SimpleAtoi(f[1], &a.child) ||
      !absl::SimpleAtoi(f[2], &a.thread) || !absl::SimpleAtoi(f[3], &a.seq) ||
      !absl::SimpleAtoi(f[4], &a.base_offset) || !absl::SimpleAtoi(f[5], &a.last_offset)) {
    return std::nullopt;
  }
  return a;
}

std::optional<std::string> Owned(std::optional<absl::string_view> s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

using BatchKey = std::tuple<int64_t, int64_t, int64_t>;  // child, thread, seq
// Where each batch is, by identity: its base offset.
using Contents = std::map<BatchKey, int64_t>;

class KillTest : public ::testing::TestWithParam<IoBackendKind> {
 protected:
  LogOptions ParentOptions() {
    LogOptions options;
    options.config.segment_bytes = 64 * 1024;
    options.config.retention_bytes = kRetentionBytes;
    options.config.retention_ms = -1;  // the records' timestamps are in 2023
    options.io_backend = IoBackendKind::kPwritev;
    return options;
  }

  // Runs one child for `run_ms` after it is ready, kills it, and collects its acks.
  void RunChild(int64_t child, int run_ms, std::vector<Ack>* acks) {
    Child proc;
    ASSERT_TRUE(proc.Start({ChildPath(), absl::StrCat("--dir=", dir_.Sub("t-0")),
                            absl::StrCat("--io_backend=", IoBackendKindName(GetParam())),
                            absl::StrCat("--seed=", seed_), absl::StrCat("--child=", child),
                            absl::StrCat("--threads=", kThreads)}));
    if (!proc.WaitReady()) {
      const int status = proc.KillAndReap();
      FAIL() << "child " << child << " never became ready: " << DescribeExit(status);
    }
    const bool open = proc.Pump(run_ms);
    const int status = proc.KillAndReap();
    ASSERT_TRUE(open && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child " << child << " ended on its own: " << DescribeExit(status);
    int count = 0;
    for (const std::string& line : proc.lines()) {
      if (line == "ready") continue;
      std::optional<Ack> ack = ParseAck(line);
      ASSERT_TRUE(ack.has_value()) << "bad line from child " << child << ": " << line;
      ASSERT_EQ(ack->child, child);
      acks->push_back(*ack);
      ++count;
    }
    acked_batches_ += count;
  }

  // Reads the whole log through a LogReader, checking density and every record's contents.
  void ReadContents(Log* log, Contents* contents) {
    LogReader reader = log->NewReader(log->start_offset());
    BatchView batch;
    int64_t next = -1;
    while (reader.NextBatch(&batch)) {
      // The first batch may begin below the start offset (retention keeps whole segments).
      if (next >= 0) {
        ASSERT_EQ(batch.header.base_offset, next) << "offsets are not dense";
      }
      next = batch.header.last_offset() + 1;
      RecordIterator records(batch.bytes, batch.position);
      RecordView r;
      std::optional<RecordId> first;
      int64_t count = 0;
      while (records.Next(&r)) {
        ASSERT_EQ(r.offset, batch.header.base_offset + count);
        std::vector<HeaderRef> headers = r.Headers();
        ASSERT_FALSE(headers.empty()) << "offset " << r.offset << " has no id header";
        ASSERT_EQ(std::string(headers[0].key), kIdHeaderKey) << "offset " << r.offset;
        ASSERT_TRUE(headers[0].value.has_value()) << "offset " << r.offset;
        std::optional<RecordId> id = ParseId(*headers[0].value);
        ASSERT_TRUE(id.has_value()) << "offset " << r.offset << " id " << *headers[0].value;
        if (!first) first = id;
        // One batch is one append: same identity, indexes 0, 1, ...
        ASSERT_EQ(id->child, first->child) << "offset " << r.offset;
        ASSERT_EQ(id->thread, first->thread) << "offset " << r.offset;
        ASSERT_EQ(id->seq, first->seq) << "offset " << r.offset;
        ASSERT_EQ(id->index, count) << "offset " << r.offset;
        const ExpectedRecord want = MakeRecord(seed_, *id);
        ASSERT_EQ(Owned(r.key), want.key) << "offset " << r.offset << " id " << IdString(*id);
        ASSERT_EQ(Owned(r.value), want.value) << "offset " << r.offset << " id " << IdString(*id);
        ASSERT_EQ(r.timestamp, want.timestamp) << "offset " << r.offset;
        ASSERT_EQ(headers.size(), want.headers.size()) << "offset " << r.offset;
        for (size_t i = 0; i < headers.size(); ++i) {
          ASSERT_EQ(std::string(headers[i].key), want.headers[i].key) << "offset " << r.offset;
          ASSERT_EQ(Owned(headers[i].value), want.headers[i].value) << "offset " << r.offset;
        }
        ++count;
      }
      ASSERT_TRUE(records.status().ok()) << records.status();
      ASSERT_TRUE(first.has_value()) << "empty batch at " << batch.header.base_offset;
      ASSERT_EQ(count, BatchSize(seed_, first->child, first->thread, first->seq))
          << "batch at " << batch.header.base_offset << " is incomplete";
      const BatchKey key{first->child, first->thread, first->seq};
      auto [it, inserted] = contents->emplace(key, batch.header.base_offset);
      ASSERT_TRUE(inserted) << "batch " << IdString(*first) << " appears at offsets " << it->second
                            << " and " << batch.header.base_offset;
    }
    ASSERT_TRUE(reader.status().ok()) << reader.status();
    ASSERT_EQ(std::max(next, log->start_offset()), log->end_offset());
  }

  // The same log through Read() slices and BatchIterator: whole, dense, CRCs valid.
  void ReadSlices(Log* log) {
    int64_t offset = log->start_offset();
    while (offset < log->end_offset()) {
      absl::StatusOr<ReadResult> read = log->Read(offset, 1 << 20);
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_FALSE(read->empty()) << "nothing read at " << offset;
      std::string bytes;
      ASSERT_TRUE(read->AppendTo(&bytes).ok());
      BatchIterator batches(bytes, 0, /*verify_crc=*/true);
      BatchView batch;
      bool first = true;
      while (batches.Next(&batch)) {
        if (first) {
          ASSERT_LE(batch.header.base_offset, offset);
          ASSERT_GE(batch.header.last_offset(), offset);
        } else {
          ASSERT_EQ(batch.header.base_offset, offset) << "offsets are not dense";
        }
        first = false;
        offset = batch.header.last_offset() + 1;
      }
      ASSERT_TRUE(batches.status().ok()) << batches.status();
      ASSERT_EQ(offset, read->slices.back().last_offset + 1);
    }
    ASSERT_EQ(offset, log->end_offset());
  }

  // Opens the killed log and checks it against every ack so far; `round_children` are the
  // children of this round, whose threads' batches must all still be there.
  void Check(const std::vector<int64_t>& round_children) {
    absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(dir_.Sub("t-0"), ParentOptions());
    ASSERT_TRUE(opened.ok()) << opened.status();
    Log* log = opened->get();
    EXPECT_FALSE(log->open_info().clean_shutdown);
    ASSERT_GE(log->start_offset(), start_floor_) << "the start offset moved back";
    Contents contents;
    ASSERT_NO_FATAL_FAILURE(ReadContents(log, &contents));
    ASSERT_NO_FATAL_FAILURE(ReadSlices(log));
    // Every acknowledged batch, at its offsets, unless the test's own retention deleted it.
    std::map<std::pair<int64_t, int64_t>, int64_t> acked_per_thread;
    for (const Ack& ack : acks_) {
      const BatchKey key{ack.child, ack.thread, ack.seq};
      ASSERT_EQ(ack.last_offset - ack.base_offset + 1,
                BatchSize(seed_, ack.child, ack.thread, ack.seq));
      if (ack.last_offset < log->start_offset()) continue;
      ASSERT_LT(ack.last_offset, log->end_offset())
          << "acknowledged batch " << ack.child << "." << ack.thread << "." << ack.seq
          << " lost: the log ends at " << log->end_offset();
      auto it = contents.find(key);
      ASSERT_TRUE(it != contents.end())
          << "acknowledged batch " << ack.child << "." << ack.thread << "." << ack.seq
          << " at offset " << ack.base_offset << " is missing";
      ASSERT_EQ(it->second, ack.base_offset)
          << "acknowledged batch " << ack.child << "." << ack.thread << "." << ack.seq << " moved";
      acked_per_thread[{ack.child, ack.thread}] =
          std::max(acked_per_thread[{ack.child, ack.thread}], ack.seq + 1);
    }
    // A thread appends one batch at a time: its batches are seq 0, 1, ... with no gap, and at
    // most one past the last ack (written, then killed before reporting it).
    for (int64_t child : round_children) {
      for (int64_t thread = 0; thread < kThreads; ++thread) {
        int64_t present = 0;
        while (contents.count({child, thread, present}) > 0) ++present;
        auto it = contents.lower_bound({child, thread, present});
        EXPECT_TRUE(it == contents.end() || std::get<0>(it->first) != child ||
                    std::get<1>(it->first) != thread)
            << "child " << child << " thread " << thread << ": batches after a gap at seq "
            << present;
        const int64_t acked = acked_per_thread[{child, thread}];
        EXPECT_GE(present, acked);
        EXPECT_LE(present, acked + 1) << "child " << child << " thread " << thread;
        unacked_batches_ += present - acked;
      }
    }
    // Keep the directory small: retention deletes the oldest segments beyond kRetentionBytes.
    absl::StatusOr<Log::RetentionResult> retained = log->ApplyRetention();
    ASSERT_TRUE(retained.ok()) << retained.status();
    start_floor_ = log->start_offset();
    std::erase_if(acks_, [this](const Ack& a) { return a.last_offset < start_floor_; });
    segments_ = log->SegmentBaseOffsets().size();
    end_offset_ = log->end_offset();
    ASSERT_TRUE(log->Close().ok());
  }

  const uint64_t seed_ = Seed();
  TempDir dir_;
  std::vector<Ack> acks_;
  int64_t start_floor_ = 0;
  int64_t acked_batches_ = 0;
  int64_t unacked_batches_ = 0;
  size_t segments_ = 0;
  int64_t end_offset_ = 0;
};

TEST_P(KillTest, AcknowledgedAppendsSurviveSigkill) {
  std::printf("seed=%llu (replay with VARVE_KILL_SEED=%llu)\n",
              static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
  std::fflush(stdout);
  if (GetParam() == IoBackendKind::kIoUring) {
    absl::StatusOr<std::unique_ptr<IoBackend>> ring = IoBackend::Create(IoBackendKind::kIoUring);
    if (!ring.ok()) GTEST_SKIP() << ring.status();
  }
  std::mt19937_64 rng(seed_ ^ static_cast<uint64_t>(GetParam()));
  const Clock::time_point start = Clock::now();
  int64_t next_child = 0;
  int rounds = 0;
  for (; rounds < kRounds && Clock::now() - start < kBudget; ++rounds) {
    // Some rounds kill two children before checking: the second recovers the first's crash.
    const int children = std::uniform_int_distribution<int>(1, 3)(rng) == 1 ? 2 : 1;
    std::vector<int64_t> round_children;
    for (int c = 0; c < children; ++c) {
      const int run_ms = std::uniform_int_distribution<int>(5, 300)(rng);
      SCOPED_TRACE(absl::StrCat("seed=", seed_, " round ", rounds, " child ", next_child,
                                " killed after ", run_ms, " ms"));
      round_children.push_back(next_child);
      ASSERT_NO_FATAL_FAILURE(RunChild(next_child++, run_ms, &acks_));
    }
    SCOPED_TRACE(absl::StrCat("seed=", seed_, " round ", rounds, " check"));
    ASSERT_NO_FATAL_FAILURE(Check(round_children));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "%s: %d rounds, %lld children in %.1f s; %lld acknowledged batches, %lld written but "
      "unacknowledged; log end %lld, %zu segments\n",
      IoBackendKindName(GetParam()), rounds, static_cast<long long>(next_child), seconds,
      static_cast<long long>(acked_batches_), static_cast<long long>(unacked_batches_),
      static_cast<long long>(end_offset_), segments_);
  EXPECT_GT(acked_batches_, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, KillTest,
                         ::testing::Values(IoBackendKind::kIoUring, IoBackendKind::kPwritev),
                         [](const auto& info) { return IoBackendKindName(info.param); });

}  // namespace
}  // namespace varve::kill_test
