#include "bench/options.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace varve::bench {
namespace {

absl::StatusOr<BenchOptions> Parse(std::vector<std::string> args) {
  return ParseBenchOptions(args);
}

// The error message of a command line that must fail, or "" if it parsed.
std::string ErrorOf(std::vector<std::string> args) {
  absl::StatusOr<BenchOptions> o = ParseBenchOptions(args);
  if (o.ok()) return "";
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(o.status().message());
}

TEST(BenchOptions, DefaultsForAppend) {
  absl::StatusOr<BenchOptions> o = Parse({"append", "--dir", "/data"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->workload, Workload::kAppend);
  EXPECT_EQ(o->dir, "/data");
  EXPECT_EQ(o->record_size, 1024);
  EXPECT_EQ(o->batch_records, 100);
  EXPECT_EQ(o->threads, 1);
  EXPECT_EQ(o->partitions, 1);
  EXPECT_EQ(o->durability, DurabilityMode::kPageCache);
  EXPECT_EQ(o->duration_s, BenchOptions::kDefaultDurationS);
  EXPECT_FALSE(o->records.has_value());
  EXPECT_FALSE(o->keep);
  EXPECT_EQ(o->repeat, 1);
  EXPECT_EQ(o->systems.size(), 3u);
  EXPECT_EQ(o->io_backend, IoBackendKind::kAuto);
}

TEST(BenchOptions, EveryFlag) {
  absl::StatusOr<BenchOptions> o = Parse({"--dir",
                                          "/d",
                                          "append",
                                          "--record-size",
                                          "100",
                                          "--batch-records=10",
                                          "--threads",
                                          "16",
                                          "--partitions",
                                          "4",
                                          "--durability",
                                          "interval",
                                          "--records",
                                          "5000",
                                          "--keep",
                                          "--json",
                                          "out.json",
                                          "--plot",
                                          "out.png",
                                          "--repeat",
                                          "3",
                                          "--systems",
                                          "rocksdb,varve",
                                          "--io-backend",
                                          "pwritev"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->record_size, 100);
  EXPECT_EQ(o->batch_records, 10);
  EXPECT_EQ(o->threads, 16);
  EXPECT_EQ(o->partitions, 4);
  EXPECT_EQ(o->durability, DurabilityMode::kInterval);
  EXPECT_EQ(o->records, 5000);
  EXPECT_FALSE(o->duration_s.has_value());
  EXPECT_TRUE(o->keep);
  EXPECT_EQ(o->json_path, "out.json");
  EXPECT_EQ(o->plot_path, "out.png");
  EXPECT_EQ(o->repeat, 3);
  EXPECT_EQ(o->systems, (std::vector<SystemKind>{SystemKind::kRocksDb, SystemKind::kVarve}));
  EXPECT_EQ(o->io_backend, IoBackendKind::kPwritev);
}

TEST(BenchOptions, DurableAppendDefaultsToGroupCommitAndAcceptsOnlyIt) {
  absl::StatusOr<BenchOptions> o = Parse({"durable-append", "--dir", "/d", "--threads", "16"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->durability, DurabilityMode::kGroupCommit);
  EXPECT_TRUE(Parse({"durable-append", "--dir", "/d", "--durability", "group_commit"}).ok());
  EXPECT_NE(ErrorOf({"durable-append", "--dir", "/d", "--durability", "page_cache"}), "");
  EXPECT_NE(ErrorOf({"durable-append", "--dir", "/d", "--durability", "interval"}), "");
}

TEST(BenchOptions, ReadWithColdCacheAndDefaultDataSet) {
  absl::StatusOr<BenchOptions> o = Parse({"read", "--dir", "/d", "--cold", "--duration", "2.5"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->cold);
  EXPECT_EQ(o->duration_s, 2.5);
  EXPECT_EQ(o->ReadRecords(), BenchOptions::kDefaultReadBytes / 1024);
  o = Parse({"read", "--dir", "/d", "--records", "77"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->ReadRecords(), 77);
}

TEST(BenchOptions, Help) {
  absl::StatusOr<BenchOptions> o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_NE(std::string(BenchUsage()).find("durable-append"), std::string::npos);
}

TEST(BenchOptions, BadArguments) {
  EXPECT_NE(ErrorOf({}), "");
  EXPECT_NE(ErrorOf({"--dir", "/d"}).find("missing WORKLOAD"), std::string::npos);
  EXPECT_NE(ErrorOf({"append"}).find("missing --dir"), std::string::npos);
  EXPECT_NE(ErrorOf({"appendd", "--dir", "/d"}).find("unknown workload"), std::string::npos);
  EXPECT_NE(ErrorOf({"append", "read", "--dir", "/d"}).find("unexpected argument"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--bogus", "1"}).find("unknown flag --bogus"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir"}).find("needs a value"), std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--threads"}).find("needs a value"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--threads", "x"}).find("not an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--threads", "0"}).find("out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--record-size", "-5"}).find("out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--batch-records", "1.5"}), "");
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--duration", "0"}), "");
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--duration", "nan"}), "");
  EXPECT_NE(
      ErrorOf({"append", "--dir", "/d", "--duration", "1", "--records", "5"}).find("exclusive"),
      std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--durability", "fsync"}).find("page_cache"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--systems", "varve,mysql"}).find("mysql"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--systems", "varve,varve"}).find("twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--io-backend", "aio"}), "");
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--cold"}).find("read workload only"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf({"append", "--dir", "/d", "--record-size", "1048576", "--batch-records", "1000"})
          .find("MiB"),
      std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir="}).find("empty"), std::string::npos);
}

TEST(BenchOptions, KafkaWorkloadsMeasureTheBrokerAloneWithAcks) {
  absl::StatusOr<BenchOptions> o = Parse({"kafka-produce", "--dir", "/d"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->workload, Workload::kKafkaProduce);
  EXPECT_EQ(o->acks, 1);
  EXPECT_EQ(o->systems, std::vector<SystemKind>{SystemKind::kVarveBroker});
  EXPECT_STREQ(SystemName(SystemKind::kVarveBroker), "varve-broker");
  EXPECT_TRUE(IsKafkaWorkload(o->workload));
  EXPECT_FALSE(IsKafkaWorkload(Workload::kAppend));
  for (const char* acks : {"1", "-1", "0"}) {
    o = Parse({"kafka-produce", "--dir", "/d", "--acks", acks});
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->acks, std::stoi(acks));
  }
  o = Parse({"kafka-consume", "--dir", "/d", "--records", "20000", "--partitions", "4"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->workload, Workload::kKafkaConsume);
  EXPECT_EQ(o->ReadRecords(), 20000);
  EXPECT_EQ(o->CommandLine(),
            "varve-bench kafka-consume --dir /d --record-size 1024 --batch-records 100 "
            "--threads 1 --partitions 4 --durability page_cache --records 20000 --acks 1");
  EXPECT_NE(std::string(BenchUsage()).find("kafka-produce"), std::string::npos);
}

TEST(BenchOptions, BadKafkaArguments) {
  EXPECT_NE(ErrorOf({"kafka-produce", "--dir", "/d", "--acks", "2"}).find("1, -1 or 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"kafka-produce", "--dir", "/d", "--acks", "all"}).find("1, -1 or 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"kafka-produce", "--dir", "/d", "--acks"}).find("needs a value"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"append", "--dir", "/d", "--acks", "1"}).find("kafka workloads only"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"kafka-produce", "--dir", "/d", "--systems", "varve"}).find("no baseline"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"kafka-consume", "--dir", "/d", "--io-backend", "pwritev"}), "");
  EXPECT_NE(ErrorOf({"kafka-consume", "--dir", "/d", "--cold"}).find("read workload only"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"kafka-producer", "--dir", "/d"}).find("unknown workload"), std::string::npos);
}

TEST(BenchOptions, CommandLineReproducesTheOptions) {
  absl::StatusOr<BenchOptions> o =
      Parse({"durable-append", "--dir", "/d", "--threads", "16", "--duration", "20", "--keep"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->CommandLine(),
            "varve-bench durable-append --dir /d --record-size 1024 --batch-records 100 "
            "--threads 16 --partitions 1 --durability group_commit --duration 20 --keep");
  std::vector<std::string> args;
  std::string line = o->CommandLine();
  for (size_t start = 0, end; start < line.size(); start = end + 1) {
    end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    args.push_back(line.substr(start, end - start));
  }
  args.erase(args.begin());  // the program name
  absl::StatusOr<BenchOptions> again = Parse(args);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->CommandLine(), o->CommandLine());
}

}  // namespace
}  // namespace varve::bench
