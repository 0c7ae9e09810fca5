#include "broker/protocol/header.h"

#include <algorithm>
#include <cstddef>

#include "broker/protocol/generated/api_table.h"

namespace varve::protocol {
namespace {

constexpr int16_t kControlledShutdownKey = 7;
constexpr int16_t kApiVersionsKey = 18;

const ApiSchema* Find(int16_t api_key) {
  for (const ApiSchema& api : kApiSchemas) {
    if (api.api_key == api_key) return &api;
  }
  return nullptr;
}

}  // namespace

bool IsKnownApiKey(int16_t api_key) { return Find(api_key) != nullptr; }

const char* ApiKeyName(int16_t api_key) {
  const ApiSchema* api = Find(api_key);
  return api != nullptr ? api->name : "Unknown";
}

std::optional<ApiVersionRange> SchemaVersions(int16_t api_key) {
  const ApiSchema* api = Find(api_key);
  if (api == nullptr) return std::nullopt;
  return ApiVersionRange{api->lowest_version, api->highest_version};
}

bool IsFlexibleVersion(int16_t api_key, int16_t api_version) {
  const ApiSchema* api = Find(api_key);
  return api != nullptr && api->first_flexible_version >= 0 &&
         api_version >= api->first_flexible_version;
}

int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version) {
  if (api_key == kControlledShutdownKey && api_version == 0 && IsKnownApiKey(api_key)) return 0;
  return IsFlexibleVersion(api_key, api_version) ? 2 : 1;
}

int16_t ResponseHeaderVersion(int16_t api_key, int16_t api_version) {
  if (api_key == kApiVersionsKey) return 0;
  return IsFlexibleVersion(api_key, api_version) ? 1 : 0;
}

absl::Status DecodeRequestHeader(Reader& reader, RequestHeader* header) {
  // The API key and version are the first four bytes of every header version.
  Reader peek = reader.Sub(std::min<size_t>(reader.remaining(), 4));
  int16_t api_key = 0;
  int16_t api_version = 0;
  if (peek.ReadInt16(&api_key).ok() && peek.ReadInt16(&api_version).ok()) {
    return header->Decode(reader, RequestHeaderVersion(api_key, api_version));
  }
  // Too short: let the decoder report where the header ends.
  return header->Decode(reader, 1);
}

}  // namespace varve::protocol
