#include "bench/report.h"

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bench/plot.h"
#include "gtest/gtest.h"

namespace varve::bench {
namespace {

// Just enough JSON to check the shape of FormatJson's output: a parse failure fails the test.
struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::vector<Value>,
               std::map<std::string, Value>>
      v;
  bool is_object() const { return v.index() == 5; }
  bool is_array() const { return v.index() == 4; }
  bool is_number() const { return v.index() == 2; }
  bool is_string() const { return v.index() == 3; }
  bool is_null() const { return v.index() == 0; }
  const std::map<std::string, Value>& object() const { return std::get<5>(v); }
  const std::vector<Value>& array() const { return std::get<4>(v); }
  double number() const { return std::get<2>(v); }
  const std::string& string() const { return std::get<3>(v); }
  const Value& operator[](const std::string& key) const {
    static const Value kMissing;
    auto it = object().find(key);
    return it == object().end() ? kMissing : it->second;
  }
  bool has(const std::string& key) const { return object().count(key) > 0; }
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  bool Parse(Value* out) {
    if (!ParseValue(out)) return false;
    Space();
    return i_ == s_.size();
  }

 private:
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
  }
  bool Eat(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Literal(const char* word) {
    const std::string w(word);
    if (s_.compare(i_, w.size(), w) != 0) return false;
    i_ += w.size();
    return true;
  }
  bool ParseString(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          if (i_ + 4 > s_.size()) return false;
          c = static_cast<char>(std::stoi(s_.substr(i_, 4), nullptr, 16));
          i_ += 4;
        } else {
          c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return false;
      }
      *out += c;
    }
    return Eat('"');
  }
  bool ParseValue(Value* out) {
    Space();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      std::map<std::string, Value> object;
      if (!Eat('}')) {
        do {
          std::string key;
          Value value;
          if (!ParseString(&key) || !Eat(':') || !ParseValue(&value)) return false;
          if (!object.emplace(key, std::move(value)).second) return false;  // duplicate key
        } while (Eat(','));
        if (!Eat('}')) return false;
      }
      out->v = std::move(object);
      return true;
    }
    if (c == '[') {
      ++i_;
      std::vector<Value> array;
      if (!Eat(']')) {
        do {
          Value value;
          if (!ParseValue(&value)) return false;
          array.push_back(std::move(value));
        } while (Eat(','));
        if (!Eat(']')) return false;
      }
      out->v = std::move(array);
      return true;
    }
    if (c == '"') {
      std::string s;
      if (!ParseString(&s)) return false;
      out->v = std::move(s);
      return true;
    }
    if (Literal("null")) return (out->v = nullptr, true);
    if (Literal("true")) return (out->v = true, true);
    if (Literal("false")) return (out->v = false, true);
    size_t used = 0;
    try {
      out->v = std::stod(s_.substr(i_), &used);
    } catch (...) {
      return false;
    }
    i_ += used;
    return used > 0;
  }

  const std::string& s_;
  size_t i_ = 0;
};

RunResult FakeRun(SystemKind system, int run, int64_t records, double seconds, int64_t ack_us) {
  RunResult r;
  r.system = system;
  r.run = run;
  r.records = records;
  r.seconds = seconds;
  for (int i = 0; i < 100; ++i) r.latency.Record(ack_us * 1000 + i);
  r.timeline = {{0.1, records / seconds}, {0.2, records / seconds}};
  return r;
}

Report DurableReport() {
  Report report;
  report.options.workload = Workload::kDurableAppend;
  report.options.durability = DurabilityMode::kGroupCommit;
  report.options.dir = "/data/with \"quotes\"\tand\\slashes";
  report.options.threads = 16;
  report.options.duration_s = 20;
  report.options.repeat = 3;
  report.host.cpus = 2;
  report.host.kernel = "Linux 6.1";
  report.host.filesystem = "ext4";
  // varve at 2.0, 1.0 and 3.0 M records/s: median 2.0; plain 1.0 M; rocksdb 0.5 M.
  report.results = {FakeRun(SystemKind::kVarve, 1, 2'000'000, 1, 500),
                    FakeRun(SystemKind::kPlainFile, 1, 1'000'000, 1, 900),
                    FakeRun(SystemKind::kRocksDb, 1, 500'000, 1, 2000),
                    FakeRun(SystemKind::kVarve, 2, 1'000'000, 1, 500),
                    FakeRun(SystemKind::kPlainFile, 2, 1'000'000, 1, 900),
                    FakeRun(SystemKind::kRocksDb, 2, 500'000, 1, 2000),
                    FakeRun(SystemKind::kVarve, 3, 3'000'000, 1, 500),
                    FakeRun(SystemKind::kPlainFile, 3, 1'000'000, 1, 900),
                    FakeRun(SystemKind::kRocksDb, 3, 500'000, 1, 2000)};
  return report;
}

TEST(Report, JsonShape) {
  const Report report = DurableReport();
  const std::string json = FormatJson(report);
  Value root;
  ASSERT_TRUE(Parser(json).Parse(&root)) << json;
  ASSERT_TRUE(root.is_object());
  const Value& config = root["config"];
  ASSERT_TRUE(config.is_object());
  EXPECT_EQ(config["workload"].string(), "durable-append");
  EXPECT_EQ(config["dir"].string(), report.options.dir);  // escaped and back
  EXPECT_EQ(config["threads"].number(), 16);
  EXPECT_EQ(config["record_size"].number(), 1024);
  EXPECT_EQ(config["batch_records"].number(), 100);
  EXPECT_EQ(config["durability"].string(), "group_commit");
  EXPECT_EQ(config["duration_s"].number(), 20);
  EXPECT_TRUE(config["records"].is_null());
  EXPECT_TRUE(config["host"].is_object());
  EXPECT_TRUE(config["command"].is_string());

  const Value& results = root["results"];
  ASSERT_TRUE(results.is_array());
  ASSERT_EQ(results.array().size(), 9u);
  for (const Value& r : results.array()) {
    ASSERT_TRUE(r.is_object());
    for (const char* key : {"system", "workload"}) EXPECT_TRUE(r[key].is_string()) << key;
    for (const char* key : {"records_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us"}) {
      ASSERT_TRUE(r[key].is_number()) << key;
      EXPECT_GT(r[key].number(), 0) << key;
    }
    EXPECT_EQ(r["workload"].string(), "durable-append");
    EXPECT_TRUE(r["timeline"].is_array());
  }
  EXPECT_EQ(results.array()[0]["system"].string(), "varve");
  EXPECT_EQ(results.array()[1]["system"].string(), "plain-file");
  EXPECT_EQ(results.array()[2]["system"].string(), "rocksdb");
  EXPECT_NEAR(results.array()[0]["mb_per_s"].number(), 2'000'000 * 1024 / 1e6, 0.01);
  EXPECT_NEAR(results.array()[0]["p50_us"].number(), 500, 500 / 64.0);

  const Value& summary = root["summary"];
  ASSERT_TRUE(summary.is_array());
  ASSERT_EQ(summary.array().size(), 3u);
  EXPECT_EQ(summary.array()[0]["records_per_s"].number(), 2'000'000);  // the median
  EXPECT_EQ(root["ratios"]["varve/plain-file"].number(), 2);
  EXPECT_EQ(root["ratios"]["varve/rocksdb"].number(), 4);
}

TEST(Report, ReadHasNoLatencies) {
  Report report;
  report.options.workload = Workload::kRead;
  report.options.records = 1000;
  RunResult r = FakeRun(SystemKind::kVarve, 1, 1000, 0.5, 0);
  r.latency = LatencyHistogram();
  r.passes = 1;
  report.results = {r};
  Value root;
  ASSERT_TRUE(Parser(FormatJson(report)).Parse(&root));
  const Value& result = root["results"].array().at(0);
  EXPECT_FALSE(result.has("p50_us"));
  EXPECT_EQ(result["records_per_s"].number(), 2000);
  EXPECT_EQ(result["passes"].number(), 1);
  EXPECT_TRUE(root["ratios"].object().empty());  // no baseline ran
}

TEST(Report, TextHasEveryRunAndTheRatios) {
  const std::string text = FormatText(DurableReport());
  EXPECT_NE(text.find("varve-bench durable-append"), std::string::npos) << text;
  EXPECT_NE(text.find("p99.9 us"), std::string::npos) << text;
  EXPECT_NE(text.find("medians over 3 runs"), std::string::npos) << text;
  EXPECT_NE(text.find("varve / plain-file   2.00x records/s"), std::string::npos) << text;
  EXPECT_NE(text.find("varve / rocksdb      4.00x records/s"), std::string::npos) << text;
}

TEST(Report, RatioNeedsBothSystems) {
  std::vector<SystemSummary> summaries(1);
  summaries[0].system = SystemKind::kVarve;
  summaries[0].records_per_s = 10;
  EXPECT_FALSE(RatioToVarve(summaries, SystemKind::kRocksDb).has_value());
}

TEST(Plot, QuotesForGnuplot) {
  EXPECT_EQ(GnuplotQuote("a.png"), "'a.png'");
  EXPECT_EQ(GnuplotQuote("it's"), "'it''s'");
}

}  // namespace
}  // namespace varve::bench
