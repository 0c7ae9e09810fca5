#include "tools/dump_options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace varve::dump {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<DumpOptions> Parse(const std::vector<std::string>& args) {
  return ParseDumpArgs(args);
}

std::string Error(const std::vector<std::string>& args) {
  absl::StatusOr<DumpOptions> o = Parse(args);
  EXPECT_FALSE(o.ok());
  EXPECT_TRUE(o.ok() || absl::IsInvalidArgument(o.status())) << o.status();
  return o.ok() ? "" : std::string(o.status().message());
}

TEST(ParseDumpArgsTest, DefaultsToDumpingBatches) {
  absl::StatusOr<DumpOptions> o = Parse({"/data/t-0"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->mode, DumpMode::kDump);
  EXPECT_THAT(o->paths, ElementsAre("/data/t-0"));
  EXPECT_FALSE(o->records || o->indexes || o->json || o->full || o->has_range());
  EXPECT_EQ(o->max_field_bytes(), kDefaultMaxFieldBytes);
}

TEST(ParseDumpArgsTest, FlagsAndValuesInBothForms) {
  absl::StatusOr<DumpOptions> o =
      Parse({"--records", "a", "--from-offset=5", "--to-offset", "9", "--full", "--json",
             "--from-time", "2024-05-01T00:00:00Z", "--to-time=1714521600500", "b"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->paths, ElementsAre("a", "b"));
  EXPECT_TRUE(o->records && o->full && o->json);
  EXPECT_EQ(o->from_offset, 5);
  EXPECT_EQ(o->to_offset, 9);
  EXPECT_EQ(o->from_time, 1714521600000);
  EXPECT_EQ(o->to_time, 1714521600500);
  EXPECT_EQ(o->max_field_bytes(), SIZE_MAX);
}

TEST(ParseDumpArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<DumpOptions> o = Parse({"--verify", "--", "--odd-dir-name"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->mode, DumpMode::kVerify);
  EXPECT_THAT(o->paths, ElementsAre("--odd-dir-name"));
}

TEST(ParseDumpArgsTest, HelpNeedsNoPath) {
  absl::StatusOr<DumpOptions> o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

TEST(ParseDumpArgsTest, ErrorsSayWhatIsWrong) {
  EXPECT_THAT(Error({}), HasSubstr("no paths"));
  EXPECT_THAT(Error({"--nope", "x"}), HasSubstr("unknown flag --nope"));
  EXPECT_THAT(Error({"-v", "x"}), HasSubstr("unknown flag -v"));
  EXPECT_THAT(Error({"x", "--from-offset"}), HasSubstr("--from-offset needs a value"));
  EXPECT_THAT(Error({"--from-offset=1e3", "x"}), HasSubstr("non-negative offset"));
  EXPECT_THAT(Error({"--to-offset=-1", "x"}), HasSubstr("non-negative offset"));
  EXPECT_THAT(Error({"--from-time=noon", "x"}), HasSubstr("--from-time: cannot read"));
  EXPECT_THAT(Error({"--verify=1", "x"}), HasSubstr("takes no value"));
  EXPECT_THAT(Error({"--verify", "--digest", "x"}), HasSubstr("cannot be combined"));
  EXPECT_THAT(Error({"--digest", "--records", "x"}), HasSubstr("--records cannot"));
  EXPECT_THAT(Error({"--verify", "--indexes", "x"}), HasSubstr("checks the indexes anyway"));
  EXPECT_THAT(Error({"--verify", "--to-time=5", "x"}), HasSubstr("whole logs"));
  EXPECT_THAT(Error({"--full", "x"}), HasSubstr("--full only applies with --records"));
  EXPECT_THAT(Error({"--from-offset=3", "--to-offset=2", "x"}), HasSubstr("above"));
  EXPECT_THAT(Error({"--from-time=3", "--to-time=2", "x"}), HasSubstr("after"));
}

TEST(ParseTimeArgTest, MillisecondsAndIso8601) {
  EXPECT_EQ(ParseTimeArg("0").value(), 0);
  EXPECT_EQ(ParseTimeArg("1700000000123").value(), 1700000000123);
  EXPECT_EQ(ParseTimeArg("-1").value(), -1);
  EXPECT_EQ(ParseTimeArg("2024-05-01T12:00:00Z").value(), 1714564800000);
  EXPECT_EQ(ParseTimeArg("2024-05-01t12:00:00z").value(), 1714564800000);
  EXPECT_EQ(ParseTimeArg("2024-05-01T14:00:00.250+02:00").value(), 1714564800250);
  EXPECT_EQ(ParseTimeArg("2024-05-01T12:00:00").value(), 1714564800000);  // UTC
  EXPECT_EQ(ParseTimeArg("2024-05-01T12:00").value(), 1714564800000);
  EXPECT_EQ(ParseTimeArg("2024-05-01T13:00+01:00").value(), 1714564800000);
  EXPECT_EQ(ParseTimeArg("2024-05-01").value(), 1714521600000);
}

TEST(ParseTimeArgTest, RejectsOtherText) {
  for (const char* text : {"", "yesterday", "2024-13-01", "2024-05-01 12:00:00", "12:00",
                           "99999999999999999999", "1.5"}) {
    EXPECT_FALSE(ParseTimeArg(text).ok()) << text;
  }
}

}  // namespace
}  // namespace varve::dump
