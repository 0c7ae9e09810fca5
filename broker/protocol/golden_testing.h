#pragma once

// ExpectGolden: checks a message against bytes written by hand from the schema, both ways.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/protocol/message_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {

// `message` encodes at `version` to exactly `hex` (whitespace ignored), and `hex` decodes, using
// all its bytes, to `message` (less the fields the version lacks).
template <typename T>
void ExpectGolden(const T& message, int16_t version, absl::string_view hex) {
  const std::string expected = HexToBytes(hex);
  EXPECT_EQ(ToHex(EncodeToString(message, version)), ToHex(expected))
      << T::kName << " v" << version << " encoding";
  std::string bytes = expected;
  absl::StatusOr<T> decoded = DecodeFromString<T>(bytes, version);
  ASSERT_TRUE(decoded.ok()) << T::kName << " v" << version << ": " << decoded.status();
  T want = message;
  ClearAbsentFields(want, version);
  EXPECT_EQ(*decoded, want) << T::kName << " v" << version << " decoding";
}

inline Records RecordsOf(absl::string_view bytes) {
  Records records;
  records.AddBytes(std::string(bytes));
  return records;
}

}  // namespace varve::protocol
