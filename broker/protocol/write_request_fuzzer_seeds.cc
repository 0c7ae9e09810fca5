// Writes the seed corpus of :request_fuzzer: a request frame (header + body, no size prefix) for
// each of a few APIs and versions, every field filled (message_testing.h).
//
// Usage, from the repository root:
//   d=broker/protocol/testdata/fuzz/request_fuzzer
//   bazel run //broker/protocol:write_request_fuzzer_seeds -- "$PWD/$d"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/protocol/generated/messages.h"
#include "broker/protocol/header.h"
#include "broker/protocol/message_testing.h"

namespace varve::protocol {
namespace {

struct Seed {
  int16_t api_key;
  int16_t version;
};

// The APIs the broker serves, at the versions clients send and at the first flexible one.
constexpr Seed kSeeds[] = {
    {18, 0}, {18, 3}, {3, 0},  {3, 1},  {3, 4},  {3, 9},  {0, 3},  {0, 7},  {0, 9},  {1, 4},
    {1, 11}, {1, 12}, {1, 15}, {2, 1},  {2, 6},  {19, 4}, {19, 5}, {20, 3}, {22, 1}, {32, 1},
    {10, 2}, {10, 4}, {11, 5}, {14, 3}, {12, 3}, {13, 3}, {8, 7},  {8, 8},  {9, 5},  {9, 8},
};

bool WriteSeed(const std::string& dir, const Seed& seed) {
  std::string frame;
  bool known = VisitApi(seed.api_key, [&](auto api) {
    using Request = typename decltype(api)::Request;
    RequestHeader header{.request_api_key = seed.api_key,
                         .request_api_version = seed.version,
                         .correlation_id = 1,
                         .client_id = "seed"};
    frame = EncodeToString(header, RequestHeaderVersion(seed.api_key, seed.version));
    Request request;
    FillForTest(request, 1);
    frame += EncodeToString(request, seed.version);
  });
  if (!known) return false;
  const std::string path =
      absl::StrCat(dir, "/", ApiKeyName(seed.api_key), "-v", seed.version, ".bin");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  return static_cast<bool>(out);
}

}  // namespace
}  // namespace varve::protocol

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  for (const varve::protocol::Seed& seed : varve::protocol::kSeeds) {
    if (!varve::protocol::WriteSeed(argv[1], seed)) {
      std::fprintf(stderr, "cannot write the seed for API %d v%d\n", seed.api_key, seed.version);
      return 1;
    }
  }
  return 0;
}
