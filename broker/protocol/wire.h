#pragma once

// The Kafka wire format's primitives (reference §3.3): a Reader that decodes them from a request
// frame, a Writer that encodes them into an OutputBuffer, and the value types the generated
// messages (broker/protocol/generated/) hold besides integers and strings: Uuid and Records.
//
// Example (decode a request body, then encode a response):
//   Reader reader(absl::MakeSpan(frame));               // frame outlives `request`
//   ProduceRequest request;
//   RETURN_IF_ERROR(request.Decode(reader, api_version));
//   OutputBuffer out;
//   Writer writer(&out);
//   Writer::Int32Slot size = writer.ReserveInt32();     // the frame's size prefix
//   response_header.Encode(writer, header_version);
//   response.Encode(writer, api_version);
//   writer.PatchInt32(size, static_cast<int32_t>(out.size() - 4));
//   // out.chunks(): byte runs for writev() and FileRegions for sendfile(), in order.
//
// Encodings: fixed-width integers are big-endian; "compact" (flexible-version) strings, bytes,
// records and arrays carry an unsigned varint of length + 1 (0 = null), the others an int16
// (strings) or int32 (bytes, records, arrays) length where -1 = null.
//
// Errors: every Read* returns InvalidArgument naming the field (when one is given), what was
// wrong and the byte offset in the buffer, e.g. "records: length 99999 exceeds the 12 bytes left
// at byte 40". Lengths and counts are checked against the bytes left before anything is
// allocated. After an error the Reader's position is unspecified.
//
// Thread safety: none of these types is synchronized; a Records value that only holds views or
// file regions may be copied to and read by other threads as long as what it views stays alive.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace varve::protocol {

// A Kafka UUID (topic ids, directory ids): 16 raw bytes on the wire. All zeros is Kafka's
// ZERO_UUID, the default.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// A byte range of an open file, sent with sendfile(2). `pin` keeps whatever owns `fd` alive (a
// segment handle, say) for as long as the region is referenced; it may be null if the caller
// guarantees that some other way.
struct FileRegion {
  int fd = -1;
  int64_t offset = 0;
  int64_t size = 0;
  std::shared_ptr<const void> pin;

  // Regions are equal when they name the same bytes of the same descriptor; pins are ignored.
  friend bool operator==(const FileRegion& a, const FileRegion& b) {
    return a.fd == b.fd && a.offset == b.offset && a.size == b.size;
  }
};

// The value of a "records" field (RecordBatches, opaque to the codec). Either null, or a
// sequence of parts whose concatenation is the record bytes:
//   * decoded: one mutable view into the request buffer (View()), so the broker can rewrite
//     BaseOffset and PartitionLeaderEpoch in place; data() returns it. The buffer must outlive
//     the Records and every copy of it.
//   * built for encoding (Fetch responses): any mix of owned bytes, views (caller keeps the
//     memory alive until the OutputBuffer is sent), and file regions.
// A default-constructed Records is empty and NOT null: it encodes as length 0, which is what an
// error-free Fetch partition without data must carry (reference §7 pitfall 12).
class Records {
 public:
  using Part = std::variant<std::string, absl::string_view, FileRegion>;

  Records() = default;
  static Records Null();
  static Records View(absl::Span<char> data);

  // Appending makes a null Records non-null. Empty bytes and empty file regions are dropped.
  void AddBytes(std::string bytes);
  void AddView(absl::string_view bytes);
  void AddFile(FileRegion region);

  bool is_null() const { return is_null_; }
  int64_t size() const { return size_; }
  // The decoded view given to View(); empty for Records built with Add*.
  absl::Span<char> data() const { return view_; }
  const std::vector<Part>& parts() const { return parts_; }

  // Equal when both are null, or both hold the same bytes; parts holding file regions compare
  // part by part (same region), since their bytes are not in memory.
  friend bool operator==(const Records& a, const Records& b);

 private:
  bool is_null_ = false;
  int64_t size_ = 0;
  absl::Span<char> view_;
  std::vector<Part> parts_;
};

// The encoded bytes of one or more messages: a sequence of chunks, each a contiguous run of bytes
// (send with writev) or a FileRegion (send with sendfile), to be sent in order. Byte chunks are
// owned; views added to Records are copied into them when encoded, only file regions stay
// references.
class OutputBuffer {
 public:
  using Chunk = std::variant<std::string, FileRegion>;

  const std::vector<Chunk>& chunks() const { return chunks_; }
  std::vector<Chunk> TakeChunks();  // leaves the buffer empty
  int64_t size() const { return size_; }
  void Clear();

  // All bytes in one string, file regions read with pread(2). IO errors and files shorter than a
  // region are errors (DataLoss for a short file). For tests and clients.
  absl::StatusOr<std::string> Flatten() const;

 private:
  friend class Writer;

  char* Extend(size_t n);  // grows the last byte chunk (appending one if needed)
  void AppendFile(const FileRegion& region);

  std::vector<Chunk> chunks_;
  int64_t size_ = 0;
};

// Decodes primitives from a buffer the caller keeps alive (and mutable: Records are views into
// it). `field` names the value in error messages; nullptr leaves the name out.
class Reader {
 public:
  explicit Reader(absl::Span<char> buffer)
      : data_(buffer.data()), position_(0), end_(buffer.size()) {}

  // Offset of the next byte from the start of the buffer given to the constructor (also for
  // readers returned by Sub()).
  size_t position() const { return position_; }
  size_t remaining() const { return end_ - position_; }

  absl::Status ReadInt8(int8_t* out, const char* field = nullptr);
  absl::Status ReadInt16(int16_t* out, const char* field = nullptr);
  absl::Status ReadInt32(int32_t* out, const char* field = nullptr);
  absl::Status ReadInt64(int64_t* out, const char* field = nullptr);
  absl::Status ReadUInt16(uint16_t* out, const char* field = nullptr);
  absl::Status ReadUInt32(uint32_t* out, const char* field = nullptr);
  absl::Status ReadFloat64(double* out, const char* field = nullptr);
  absl::Status ReadBool(bool* out, const char* field = nullptr);  // any non-zero byte is true
  absl::Status ReadUuid(Uuid* out, const char* field = nullptr);

  // LEB128, at most 5 bytes and 32 bits (the protocol's lengths and tags).
  absl::Status ReadUnsignedVarint(uint32_t* out, const char* field = nullptr);
  // Zig-zag LEB128 (the record format's integers): at most 5 / 10 bytes.
  absl::Status ReadVarint(int32_t* out, const char* field = nullptr);
  absl::Status ReadVarlong(int64_t* out, const char* field = nullptr);

  // Strings are at most 32767 bytes, compact or not (as in Kafka). `nullable` says whether null
  // is allowed at this version; a null where it is not is an error.
  absl::Status ReadString(std::string* out, bool compact, const char* field = nullptr);
  absl::Status ReadNullableString(std::optional<std::string>* out, bool compact, bool nullable,
                                  const char* field = nullptr);
  absl::Status ReadBytes(std::string* out, bool compact, const char* field = nullptr);
  absl::Status ReadNullableBytes(std::optional<std::string>* out, bool compact, bool nullable,
                                 const char* field = nullptr);
  // A view into the buffer, not a copy.
  absl::Status ReadRecords(Records* out, bool compact, bool nullable, const char* field = nullptr);

  // An array's element count; -1 for null. `min_element_size` (>= 1) bounds the count by the
  // bytes left: count * min_element_size must fit.
  absl::Status ReadArrayCount(int32_t* count, bool compact, bool nullable, size_t min_element_size,
                              const char* field = nullptr);

  absl::Status Skip(size_t n, const char* field = nullptr);

  // A reader over the next n bytes (n <= remaining(), asserted); this reader does not advance.
  Reader Sub(size_t n) const;

  // InvalidArgument "<field>: <detail>" (or just the detail without a field).
  static absl::Status Error(const char* field, absl::string_view detail);

 private:
  Reader(char* data, size_t position, size_t end) : data_(data), position_(position), end_(end) {}

  absl::Status Need(size_t n, const char* type, const char* field) const;
  // Reads a length prefix: compact (uvarint length + 1) or fixed (`width` 2 or 4 bytes). Sets
  // *length to -1 for null (only when nullable), and checks it against the bytes left and
  // `max_length`.
  absl::Status ReadLength(bool compact, int width, bool nullable, int64_t max_length,
                          int64_t* length, const char* field);
  absl::Status ReadUnsigned(int max_bytes, int max_bits, uint64_t* out, const char* what,
                            const char* field);

  char* data_;
  size_t position_;
  size_t end_;
};

// Encodes primitives at the end of an OutputBuffer. Encoding cannot fail; preconditions (strings
// up to 32767 bytes, bytes, records and arrays up to INT32_MAX) are asserted.
class Writer {
 public:
  explicit Writer(OutputBuffer* out) : out_(out) {}

  OutputBuffer& output() { return *out_; }
  int64_t size() const { return out_->size(); }

  void WriteInt8(int8_t v);
  void WriteInt16(int16_t v);
  void WriteInt32(int32_t v);
  void WriteInt64(int64_t v);
  void WriteUInt16(uint16_t v);
  void WriteUInt32(uint32_t v);
  void WriteFloat64(double v);
  void WriteBool(bool v);
  void WriteUuid(const Uuid& v);
  void WriteUnsignedVarint(uint32_t v);
  void WriteVarint(int32_t v);
  void WriteVarlong(int64_t v);

  // A null value where the version does not allow null (`nullable` false) is written as empty:
  // encoding cannot fail, and for MetadataRequest v0, say, an empty topic list means what null
  // means at v1+ ("all topics").
  void WriteString(absl::string_view s, bool compact);
  void WriteNullableString(const std::optional<std::string>& s, bool compact, bool nullable);
  void WriteBytes(absl::string_view b, bool compact);
  void WriteNullableBytes(const std::optional<std::string>& b, bool compact, bool nullable);
  // The length prefix, then every part in order: bytes and views are copied, file regions become
  // FileRegion chunks of the output.
  void WriteRecords(const Records& records, bool compact, bool nullable);
  void WriteArrayCount(int32_t count, bool compact);  // -1 for null
  void WriteRaw(absl::string_view bytes);

  // An int32 to fill in later, such as a frame's size prefix.
  struct Int32Slot {
    size_t chunk;
    size_t offset;
  };
  Int32Slot ReserveInt32();
  void PatchInt32(Int32Slot slot, int32_t v);

 private:
  void WriteLength(int64_t length, bool compact, int width);  // -1 for null
  void WriteUnsigned(uint64_t u);                             // LEB128

  OutputBuffer* out_;
};

}  // namespace varve::protocol
