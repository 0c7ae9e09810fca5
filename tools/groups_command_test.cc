#include "tools/groups_command.h"

#include <sstream>

#include "base/temp_dir.h"
#include "broker/group/records.h"
#include "gtest/gtest.h"
#include "log/log.h"
#include "rocksdb/db.h"
#include "tools/varve_dump.h"

namespace varve::dump {
namespace {

namespace group = broker::group;

class GroupsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A partition log "orders-0" with 10 records.
    auto log = Log::Open(dir_.Sub("orders-0"), LogOptions());
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<RecordToAppend> records(10, RecordToAppend{.value = "v"});
    ASSERT_TRUE((*log)->Append(records).ok());
    ASSERT_TRUE((*log)->Close().ok());
    // The broker's materialized group state.
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.Sub("metadata.rocksdb"), &raw).ok());
    db_.reset(raw);
    Put(group::OffsetRecord{.key = {"readers", "orders", 0},
                            .value = group::CommittedOffset{.offset = 7, .metadata = "m"}});
    Put(group::OffsetRecord{.key = {"readers", "gone", 3},
                            .value = group::CommittedOffset{.offset = 1}});
    Put(group::GroupRecord{.group = "readers",
                           .value = group::GroupMetadataRecord{
                               .protocol_type = "consumer",
                               .generation = 4,
                               .protocol = "range",
                               .leader = "c-1",
                               .members = {{.member_id = "c-1"}, {.member_id = "c-2"}}}});
    Put(group::OffsetRecord{.key = {"standalone", "orders", 0},
                            .value = group::CommittedOffset{.offset = 10}});
  }

  void Put(const group::CoordinatorRecord& r) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "group/record/" + group::EncodeKey(r),
                         *group::EncodeValue(r))
                    .ok());
  }

  int Run(std::vector<std::string> args, std::string* out) {
    std::ostringstream o, e;
    const int status = RunVarveDump(args, o, e);
    *out = o.str() + e.str();
    return status;
  }

  TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

// The broker keeps the store open: the tool reads it anyway (read-only, no lock).
TEST_F(GroupsCommandTest, ListsGroupsOffsetsAndLagWhileTheStoreIsOpen) {
  std::string out;
  ASSERT_EQ(Run({"--groups", dir_.path()}, &out), kExitClean) << out;
  EXPECT_NE(out.find("group \"readers\" generation 4 protocol consumer/range members 2 (leader "
                     "c-1)\n  gone 3 committed 1 log_end -1 lag -1\n  orders 0 committed 7 "
                     "log_end 10 lag 3 metadata \"m\"\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("group \"standalone\" generation 0 protocol -/- members 0\n  orders 0 "
                     "committed 10 log_end 10 lag 0\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note: gone-3:"), std::string::npos) << out;
}

TEST_F(GroupsCommandTest, Json) {
  std::string out;
  ASSERT_EQ(Run({"--groups", "--json", dir_.path()}, &out), kExitClean) << out;
  EXPECT_NE(out.find("{\"type\":\"group\",\"group\":\"readers\",\"generation\":4,\"protocol_type\":"
                     "\"consumer\","
                     "\"protocol\":\"range\",\"leader\":\"c-1\",\"members\":[\"c-1\",\"c-2\"]}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"type\":\"committed_offset\",\"group\":\"readers\",\"topic\":\"orders\","
                     "\"partition\":0,"
                     "\"committed_offset\":7,\"log_end_offset\":10,\"lag\":3,\"metadata\":\"m\""),
            std::string::npos)
      << out;
}

TEST_F(GroupsCommandTest, UsageErrors) {
  std::string out;
  EXPECT_EQ(Run({"--groups"}, &out), kExitUsage);
  EXPECT_EQ(Run({"--groups", "--records", dir_.path()}, &out), kExitUsage);
  EXPECT_EQ(Run({"--groups", "--verify", dir_.path()}, &out), kExitUsage);
  EXPECT_EQ(Run({"--groups", dir_.Sub("nothing-here")}, &out), kExitUsage);
  EXPECT_NE(out.find("cannot open"), std::string::npos) << out;
}

}  // namespace
}  // namespace varve::dump
