// libFuzzer target: the input is a request frame without its size prefix (a request header, then a
// body). Decodes the header, then, for a known API, the body as that API's request at the
// header's version, and the same bytes as its response (which clients decode). Invariants:
//   * decoding fails only with InvalidArgument and never reads past the input;
//   * whatever decodes re-encodes to bytes that decode to an equal message, and encoding that
//     message again gives the same bytes.
//
// Seeds: broker/protocol/testdata/fuzz/request_fuzzer/ (written by :write_request_fuzzer_seeds).

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "broker/protocol/generated/messages.h"
#include "broker/protocol/header.h"
#include "broker/protocol/wire.h"
#include "log/fuzz_check.h"

namespace varve::protocol {
namespace {

template <typename T>
std::string Encode(const T& message, int16_t version) {
  OutputBuffer out;
  Writer writer(&out);
  message.Encode(writer, version);
  absl::StatusOr<std::string> bytes = out.Flatten();
  FUZZ_CHECK_OK(bytes.status());
  return *bytes;
}

template <typename T>
void CheckRoundTrip(const T& message, int16_t version) {
  std::string bytes = Encode(message, version);
  Reader reader(absl::MakeSpan(bytes));
  T decoded;
  FUZZ_CHECK_OK(decoded.Decode(reader, version));
  FUZZ_CHECK(reader.remaining() == 0);
  FUZZ_CHECK(decoded == message);
  FUZZ_CHECK(Encode(decoded, version) == bytes);
}

// Decodes `bytes` as a T at `version`; checks the round trip when that succeeds.
template <typename T>
void DecodeAndCheck(absl::Span<char> bytes, int16_t version) {
  Reader reader(bytes);
  T message;
  const absl::Status status = message.Decode(reader, version);
  FUZZ_CHECK(reader.position() <= bytes.size());
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  CheckRoundTrip(message, version);
}

}  // namespace
}  // namespace varve::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace varve::protocol;
  std::string frame(reinterpret_cast<const char*>(data), size);
  Reader reader(absl::MakeSpan(frame));
  RequestHeader header;
  const absl::Status status = DecodeRequestHeader(reader, &header);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const int16_t version = header.request_api_version;
  CheckRoundTrip(header, RequestHeaderVersion(header.request_api_key, version));
  // Each decode gets its own copy of the body: Records view (and must not alias) their input.
  const std::string body = frame.substr(reader.position());
  VisitApi(header.request_api_key, [&](auto api) {
    using Api = decltype(api);
    std::string request_bytes = body;
    DecodeAndCheck<typename Api::Request>(absl::MakeSpan(request_bytes), version);
    std::string response_bytes = body;
    DecodeAndCheck<typename Api::Response>(absl::MakeSpan(response_bytes), version);
  });
  return 0;
}
