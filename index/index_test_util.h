#pragma once

// Helpers for the index tests: whole-file reads and writes through the FileSystem seam, and
// big-endian field encoders for writing expected file contents by hand.

#include <cstdint>
#include <string>

namespace varve::index_test {

// The whole content of `path` (read through PosixFileSystem()); fails the test if unreadable.
std::string ReadFileBytes(const std::string& path);
// Replaces the content of `path` with `bytes`, creating it if missing.
void WriteFileBytes(const std::string& path, const std::string& bytes);

// The big-endian encoding of `v`, 4 and 8 bytes.
std::string Be32(int32_t v);
std::string Be64(int64_t v);

}  // namespace varve::index_test
