#include "broker/protocol/wire.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/endian.h"

namespace varve::protocol {

// ---- Records ------------------------------------------------------------------------------

Records Records::Null() {
  Records records;
  records.is_null_ = true;
  return records;
}

Records Records::View(absl::Span<char> data) {
  Records records;
  records.view_ = data;
  if (!data.empty()) records.parts_.emplace_back(absl::string_view(data.data(), data.size()));
  records.size_ = static_cast<int64_t>(data.size());
  return records;
}

void Records::AddBytes(std::string bytes) {
  is_null_ = false;
  if (bytes.empty()) return;
  size_ += static_cast<int64_t>(bytes.size());
  parts_.emplace_back(std::in_place_index<0>, std::move(bytes));
}

void Records::AddView(absl::string_view bytes) {
  is_null_ = false;
  if (bytes.empty()) return;
  size_ += static_cast<int64_t>(bytes.size());
  parts_.emplace_back(std::in_place_index<1>, bytes);
}

void Records::AddFile(FileRegion region) {
  is_null_ = false;
  if (region.size == 0) return;
  assert(region.size > 0 && region.offset >= 0);
  size_ += region.size;
  parts_.emplace_back(std::in_place_index<2>, std::move(region));
}

namespace {

bool HasFilePart(const std::vector<Records::Part>& parts) {
  for (const Records::Part& part : parts) {
    if (std::holds_alternative<FileRegion>(part)) return true;
  }
  return false;
}

absl::string_view PartBytes(const Records::Part& part) {
  if (const auto* s = std::get_if<std::string>(&part)) return *s;
  return std::get<absl::string_view>(part);
}

}  // namespace

bool operator==(const Records& a, const Records& b) {
  if (a.is_null_ != b.is_null_ || a.size_ != b.size_) return false;
  if (HasFilePart(a.parts_) || HasFilePart(b.parts_)) {
    if (a.parts_.size() != b.parts_.size()) return false;
    for (size_t i = 0; i < a.parts_.size(); ++i) {
      const auto* fa = std::get_if<FileRegion>(&a.parts_[i]);
      const auto* fb = std::get_if<FileRegion>(&b.parts_[i]);
      if ((fa == nullptr) != (fb == nullptr)) return false;
      if (fa != nullptr ? !(*fa == *fb) : PartBytes(a.parts_[i]) != PartBytes(b.parts_[i])) {
        return false;
      }
    }
    return true;
  }
  std::string bytes_a, bytes_b;
  for (const Records::Part& part : a.parts_) absl::StrAppend(&bytes_a, PartBytes(part));
  for (const Records::Part& part : b.parts_) absl::StrAppend(&bytes_b, PartBytes(part));
  return bytes_a == bytes_b;
}

// ---- OutputBuffer -------------------------------------------------------------------------

std::vector<OutputBuffer::Chunk> OutputBuffer::TakeChunks() {
  std::vector<Chunk> chunks = std::move(chunks_);
  Clear();
  return chunks;
}

void OutputBuffer::Clear() {
  chunks_.clear();
  size_ = 0;
}

char* OutputBuffer::Extend(size_t n) {
  if (chunks_.empty() || !std::holds_alternative<std::string>(chunks_.back())) {
    chunks_.emplace_back(std::in_place_index<0>);
  }
  std::string& tail = std::get<std::string>(chunks_.back());
  const size_t old_size = tail.size();
  tail.resize(old_size + n);
  size_ += static_cast<int64_t>(n);
  return tail.data() + old_size;
}

void OutputBuffer::AppendFile(const FileRegion& region) {
  if (region.size == 0) return;
  chunks_.emplace_back(region);
  size_ += region.size;
}

absl::StatusOr<std::string> OutputBuffer::Flatten() const {
  std::string flat;
  flat.reserve(static_cast<size_t>(size_));
  for (const Chunk& chunk : chunks_) {
    if (const auto* bytes = std::get_if<std::string>(&chunk)) {
      flat += *bytes;
      continue;
    }
    const FileRegion& region = std::get<FileRegion>(chunk);
    size_t start = flat.size();
    flat.resize(start + static_cast<size_t>(region.size));
    int64_t done = 0;
    while (done < region.size) {
      ssize_t n = pread(region.fd, flat.data() + start + done,
                        static_cast<size_t>(region.size - done), region.offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::InternalError(absl::StrCat("pread of fd ", region.fd, " at ",
                                                region.offset + done, ": ", std::strerror(errno)));
      }
      if (n == 0) {
        return absl::DataLossError(absl::StrCat(
            "fd ", region.fd, " ends at byte ", region.offset + done, ", inside the region [",
            region.offset, ", ", region.offset + region.size, ")"));
      }
      done += n;
    }
  }
  return flat;
}

// ---- Reader -------------------------------------------------------------------------------

absl::Status Reader::Error(const char* field, absl::string_view detail) {
  if (field == nullptr) return absl::InvalidArgumentError(detail);
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", detail));
}

absl::Status Reader::Need(size_t n, const char* type, const char* field) const {
  if (remaining() >= n) return absl::OkStatus();
  return Error(field, absl::StrCat(type, " needs ", n, " bytes, ", remaining(), " left at byte ",
                                   position_));
}

absl::Status Reader::ReadInt8(int8_t* out, const char* field) {
  if (absl::Status s = Need(1, "int8", field); !s.ok()) return s;
  *out = static_cast<int8_t>(data_[position_++]);
  return absl::OkStatus();
}

absl::Status Reader::ReadInt16(int16_t* out, const char* field) {
  if (absl::Status s = Need(2, "int16", field); !s.ok()) return s;
  *out = static_cast<int16_t>(LoadBE16(data_ + position_));
  position_ += 2;
  return absl::OkStatus();
}

absl::Status Reader::ReadInt32(int32_t* out, const char* field) {
  if (absl::Status s = Need(4, "int32", field); !s.ok()) return s;
  *out = static_cast<int32_t>(LoadBE32(data_ + position_));
  position_ += 4;
  return absl::OkStatus();
}

absl::Status Reader::ReadInt64(int64_t* out, const char* field) {
  if (absl::Status s = Need(8, "int64", field); !s.ok()) return s;
  *out = static_cast<int64_t>(LoadBE64(data_ + position_));
  position_ += 8;
  return absl::OkStatus();
}

absl::Status Reader::ReadUInt16(uint16_t* out, const char* field) {
  if (absl::Status s = Need(2, "uint16", field); !s.ok()) return s;
  *out = LoadBE16(data_ + position_);
  position_ += 2;
  return absl::OkStatus();
}

absl::Status Reader::ReadUInt32(uint32_t* out, const char* field) {
  if (absl::Status s = Need(4, "uint32", field); !s.ok()) return s;
  *out = LoadBE32(data_ + position_);
  position_ += 4;
  return absl::OkStatus();
}

absl::Status Reader::ReadFloat64(double* out, const char* field) {
  if (absl::Status s = Need(8, "float64", field); !s.ok()) return s;
  uint64_t bits = LoadBE64(data_ + position_);
  std::memcpy(out, &bits, sizeof bits);
  position_ += 8;
  return absl::OkStatus();
}

absl::Status Reader::ReadBool(bool* out, const char* field) {
  if (absl::Status s = Need(1, "bool", field); !s.ok()) return s;
  *out = data_[position_++] != 0;
  return absl::OkStatus();
}

absl::Status Reader::ReadUuid(Uuid* out, const char* field) {
  if (absl::Status s = Need(16, "uuid", field); !s.ok()) return s;
  std::memcpy(out->bytes.data(), data_ + position_, 16);
  position_ += 16;
  return absl::OkStatus();
}

absl::Status Reader::ReadUnsigned(int max_bytes, int max_bits, uint64_t* out, const char* what,
                                  const char* field) {
  const size_t start = position_;
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (position_ >= end_) {
      return Error(field, absl::StrCat(what, " starting at byte ", start, " is cut off at byte ",
                                       position_));
    }
    const uint64_t byte = static_cast<uint8_t>(data_[position_++]);
    const int shift = 7 * i;
    // The last permitted byte may only carry the bits that still fit.
    if (shift + 7 > max_bits && (byte & 0x7F) >> (max_bits - shift) != 0) {
      return Error(field, absl::StrCat(what, " at byte ", start, " overflows ", max_bits, " bits"));
    }
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *out = result;
      return absl::OkStatus();
    }
  }
  return Error(field,
               absl::StrCat(what, " at byte ", start, " is longer than ", max_bytes, " bytes"));
}

absl::Status Reader::ReadUnsignedVarint(uint32_t* out, const char* field) {
  uint64_t v;
  if (absl::Status s = ReadUnsigned(5, 32, &v, "unsigned varint", field); !s.ok()) return s;
  *out = static_cast<uint32_t>(v);
  return absl::OkStatus();
}

absl::Status Reader::ReadVarint(int32_t* out, const char* field) {
  uint64_t v;
  if (absl::Status s = ReadUnsigned(5, 32, &v, "varint", field); !s.ok()) return s;
  const uint32_t u = static_cast<uint32_t>(v);
  *out = static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  return absl::OkStatus();
}

absl::Status Reader::ReadVarlong(int64_t* out, const char* field) {
  uint64_t u;
  if (absl::Status s = ReadUnsigned(10, 64, &u, "varlong", field); !s.ok()) return s;
  *out = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return absl::OkStatus();
}

absl::Status Reader::ReadLength(bool compact, int width, bool nullable, int64_t max_length,
                                int64_t* length, const char* field) {
  const size_t start = position_;
  int64_t n;
  if (compact) {
    uint32_t u;
    if (absl::Status s = ReadUnsignedVarint(&u, field); !s.ok()) return s;
    n = static_cast<int64_t>(u) - 1;
  } else if (width == 2) {
    int16_t v;
    if (absl::Status s = ReadInt16(&v, field); !s.ok()) return s;
    n = v;
  } else {
    int32_t v;
    if (absl::Status s = ReadInt32(&v, field); !s.ok()) return s;
    n = v;
  }
  if (n == -1) {
    if (!nullable) {
      return Error(field, absl::StrCat("null is not allowed at this version (byte ", start, ")"));
    }
    *length = -1;
    return absl::OkStatus();
  }
  if (n < 0) return Error(field, absl::StrCat("negative length ", n, " at byte ", start));
  if (n > max_length) {
    return Error(
        field, absl::StrCat("length ", n, " exceeds the maximum ", max_length, " at byte ", start));
  }
  if (static_cast<uint64_t>(n) > remaining()) {
    return Error(field, absl::StrCat("length ", n, " exceeds the ", remaining(),
                                     " bytes left at byte ", position_));
  }
  *length = n;
  return absl::OkStatus();
}

namespace {
constexpr int64_t kMaxStringLength = 0x7FFF;
constexpr int64_t kMaxBytesLength = 0x7FFFFFFF;
}  // namespace

absl::Status Reader::ReadString(std::string* out, bool compact, const char* field) {
  int64_t n;
  if (absl::Status s = ReadLength(compact, 2, false, kMaxStringLength, &n, field); !s.ok()) {
    return s;
  }
  out->assign(data_ + position_, static_cast<size_t>(n));
  position_ += static_cast<size_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::ReadNullableString(std::optional<std::string>* out, bool compact,
                                        bool nullable, const char* field) {
  int64_t n;
  if (absl::Status s = ReadLength(compact, 2, nullable, kMaxStringLength, &n, field); !s.ok()) {
    return s;
  }
  if (n < 0) {
    out->reset();
    return absl::OkStatus();
  }
  out->emplace(data_ + position_, static_cast<size_t>(n));
  position_ += static_cast<size_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::ReadBytes(std::string* out, bool compact, const char* field) {
  int64_t n;
  if (absl::Status s = ReadLength(compact, 4, false, kMaxBytesLength, &n, field); !s.ok()) {
    return s;
  }
  out->assign(data_ + position_, static_cast<size_t>(n));
  position_ += static_cast<size_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::ReadNullableBytes(std::optional<std::string>* out, bool compact, bool nullable,
                                       const char* field) {
  int64_t n;
  if (absl::Status s = ReadLength(compact, 4, nullable, kMaxBytesLength, &n, field); !s.ok()) {
    return s;
  }
  if (n < 0) {
    out->reset();
    return absl::OkStatus();
  }
  out->emplace(data_ + position_, static_cast<size_t>(n));
  position_ += static_cast<size_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::ReadRecords(Records* out, bool compact, bool nullable, const char* field) {
  int64_t n;
  if (absl::Status s = ReadLength(compact, 4, nullable, kMaxBytesLength, &n, field); !s.ok()) {
    return s;
  }
  if (n < 0) {
    *out = Records::Null();
    return absl::OkStatus();
  }
  *out = Records::View(absl::Span<char>(data_ + position_, static_cast<size_t>(n)));
  position_ += static_cast<size_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::ReadArrayCount(int32_t* count, bool compact, bool nullable,
                                    size_t min_element_size, const char* field) {
  assert(min_element_size >= 1);
  const size_t start = position_;
  int64_t n;
  if (compact) {
    uint32_t u;
    if (absl::Status s = ReadUnsignedVarint(&u, field); !s.ok()) return s;
    n = static_cast<int64_t>(u) - 1;
  } else {
    int32_t v;
    if (absl::Status s = ReadInt32(&v, field); !s.ok()) return s;
    n = v;
  }
  if (n == -1) {
    if (!nullable) {
      return Error(field, absl::StrCat("null is not allowed at this version (byte ", start, ")"));
    }
    *count = -1;
    return absl::OkStatus();
  }
  if (n < 0) return Error(field, absl::StrCat("negative count ", n, " at byte ", start));
  if (static_cast<uint64_t>(n) > remaining() / min_element_size) {
    return Error(field, min_element_size == 1
                            ? absl::StrCat("count ", n, " exceeds the ", remaining(),
                                           " bytes left at byte ", position_)
                            : absl::StrCat("count ", n, " of elements of at least ",
                                           min_element_size, " bytes exceeds the ", remaining(),
                                           " bytes left at byte ", position_));
  }
  *count = static_cast<int32_t>(n);
  return absl::OkStatus();
}

absl::Status Reader::Skip(size_t n, const char* field) {
  if (n > remaining()) {
    return Error(field, absl::StrCat("cannot skip ", n, " bytes, ", remaining(), " left at byte ",
                                     position_));
  }
  position_ += n;
  return absl::OkStatus();
}

Reader Reader::Sub(size_t n) const {
  assert(n <= remaining());
  return Reader(data_, position_, position_ + n);
}

// ---- Writer -------------------------------------------------------------------------------

void Writer::WriteInt8(int8_t v) { *out_->Extend(1) = static_cast<char>(v); }
void Writer::WriteInt16(int16_t v) { StoreBE16(out_->Extend(2), static_cast<uint16_t>(v)); }
void Writer::WriteInt32(int32_t v) { StoreBE32(out_->Extend(4), static_cast<uint32_t>(v)); }
void Writer::WriteInt64(int64_t v) { StoreBE64(out_->Extend(8), static_cast<uint64_t>(v)); }
void Writer::WriteUInt16(uint16_t v) { StoreBE16(out_->Extend(2), v); }
void Writer::WriteUInt32(uint32_t v) { StoreBE32(out_->Extend(4), v); }

void Writer::WriteFloat64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  StoreBE64(out_->Extend(8), bits);
}

void Writer::WriteBool(bool v) { *out_->Extend(1) = v ? 1 : 0; }

void Writer::WriteUuid(const Uuid& v) { std::memcpy(out_->Extend(16), v.bytes.data(), 16); }

void Writer::WriteUnsigned(uint64_t u) {
  char buf[10];
  size_t n = 0;
  while (u >= 0x80) {
    buf[n++] = static_cast<char>(u | 0x80);
    u >>= 7;
  }
  buf[n++] = static_cast<char>(u);
  std::memcpy(out_->Extend(n), buf, n);
}

void Writer::WriteUnsignedVarint(uint32_t v) { WriteUnsigned(v); }

void Writer::WriteVarint(int32_t v) {
  WriteUnsigned((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void Writer::WriteVarlong(int64_t v) {
  WriteUnsigned((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void Writer::WriteLength(int64_t length, bool compact, int width) {
  assert(length >= -1 && length <= (width == 2 ? kMaxStringLength : kMaxBytesLength));
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(length + 1));
  } else if (width == 2) {
    WriteInt16(static_cast<int16_t>(length));
  } else {
    WriteInt32(static_cast<int32_t>(length));
  }
}

void Writer::WriteString(absl::string_view s, bool compact) {
  WriteLength(static_cast<int64_t>(s.size()), compact, 2);
  WriteRaw(s);
}

void Writer::WriteNullableString(const std::optional<std::string>& s, bool compact, bool nullable) {
  if (!s.has_value()) {
    WriteLength(nullable ? -1 : 0, compact, 2);
    return;
  }
  WriteString(*s, compact);
}

void Writer::WriteBytes(absl::string_view b, bool compact) {
  WriteLength(static_cast<int64_t>(b.size()), compact, 4);
  WriteRaw(b);
}

void Writer::WriteNullableBytes(const std::optional<std::string>& b, bool compact, bool nullable) {
  if (!b.has_value()) {
    WriteLength(nullable ? -1 : 0, compact, 4);
    return;
  }
  WriteBytes(*b, compact);
}

void Writer::WriteRecords(const Records& records, bool compact, bool nullable) {
  if (records.is_null()) {
    WriteLength(nullable ? -1 : 0, compact, 4);
    return;
  }
  WriteLength(records.size(), compact, 4);
  for (const Records::Part& part : records.parts()) {
    if (const auto* region = std::get_if<FileRegion>(&part)) {
      out_->AppendFile(*region);
    } else {
      WriteRaw(PartBytes(part));
    }
  }
}

void Writer::WriteArrayCount(int32_t count, bool compact) {
  assert(count >= -1);
  if (compact) {
    WriteUnsignedVarint(static_cast<uint32_t>(count + 1));
  } else {
    WriteInt32(count);
  }
}

void Writer::WriteRaw(absl::string_view bytes) {
  if (bytes.empty()) return;
  std::memcpy(out_->Extend(bytes.size()), bytes.data(), bytes.size());
}

Writer::Int32Slot Writer::ReserveInt32() {
  out_->Extend(4);
  const std::string& tail = std::get<std::string>(out_->chunks_.back());
  return Int32Slot{out_->chunks_.size() - 1, tail.size() - 4};
}

void Writer::PatchInt32(Int32Slot slot, int32_t v) {
  std::string& chunk = std::get<std::string>(out_->chunks_[slot.chunk]);
  assert(slot.offset + 4 <= chunk.size());
  StoreBE32(chunk.data() + slot.offset, static_cast<uint32_t>(v));
}

}  // namespace varve::protocol
