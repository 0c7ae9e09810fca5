#include "broker/protocol/field_codec.h"

#include <cassert>
#include <variant>

namespace varve::protocol {

absl::Status PrefixError(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::Status CheckVersion(const char* message, int16_t version, int16_t lowest, int16_t highest) {
  if (version >= lowest && version <= highest) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      message, ": version ", version, " is outside the valid range ", lowest, "-", highest));
}

absl::Status ReadTaggedFields(
    Reader& r, absl::FunctionRef<absl::Status(uint32_t tag, Reader& value)> read_known) {
  constexpr const char* kField = "tagged fields";
  uint32_t count;
  if (absl::Status s = r.ReadUnsignedVarint(&count, kField); !s.ok()) return s;
  // Each field takes at least two bytes (tag and size).
  if (count > r.remaining() / 2) {
    return Reader::Error(kField, absl::StrCat("count ", count, " exceeds the ", r.remaining(),
                                              " bytes left at byte ", r.position()));
  }
  int64_t previous_tag = -1;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t start = r.position();
    uint32_t tag;
    uint32_t size;
    if (absl::Status s = r.ReadUnsignedVarint(&tag, kField); !s.ok()) return s;
    if (static_cast<int64_t>(tag) <= previous_tag) {
      return Reader::Error(kField, absl::StrCat("tag ", tag, " at byte ", start, " follows tag ",
                                                previous_tag, "; tags must ascend"));
    }
    previous_tag = tag;
    if (absl::Status s = r.ReadUnsignedVarint(&size, kField); !s.ok()) return s;
    if (size > r.remaining()) {
      return Reader::Error(
          kField, absl::StrCat("tag ", tag, ": size ", size, " exceeds the ", r.remaining(),
                               " bytes left at byte ", r.position()));
    }
    Reader value = r.Sub(size);
    if (absl::Status s = read_known(tag, value); !s.ok()) return s;
    if (value.position() != r.position() && value.remaining() != 0) {
      return Reader::Error(kField,
                           absl::StrCat("tag ", tag, ": the value ends at byte ", value.position(),
                                        " but its size says byte ", r.position() + size));
    }
    if (absl::Status s = r.Skip(size, kField); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SkipTaggedFields(Reader& r) {
  return ReadTaggedFields(r, [](uint32_t, Reader&) { return absl::OkStatus(); });
}

void WriteTaggedField(Writer& w, uint32_t tag, absl::FunctionRef<void(Writer& value)> write_value) {
  OutputBuffer buffer;
  Writer value(&buffer);
  write_value(value);
  w.WriteUnsignedVarint(tag);
  w.WriteUnsignedVarint(static_cast<uint32_t>(buffer.size()));
  for (const OutputBuffer::Chunk& chunk : buffer.chunks()) {
    assert(std::holds_alternative<std::string>(chunk));
    w.WriteRaw(std::get<std::string>(chunk));
  }
}

}  // namespace varve::protocol
