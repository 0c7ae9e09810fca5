#include "index/index_test_util.h"

#include <memory>

#include "base/endian.h"
#include "base/file.h"
#include "gtest/gtest.h"

namespace varve::index_test {

std::string ReadFileBytes(const std::string& path) {
  absl::StatusOr<std::unique_ptr<File>> file = PosixFileSystem()->Open(path, OpenMode::kReadOnly);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return "";
  absl::StatusOr<int64_t> size = (*file)->Size();
  EXPECT_TRUE(size.ok()) << size.status();
  if (!size.ok()) return "";
  std::string bytes(*size, '\0');
  absl::Status read = (*file)->ReadExact(0, absl::MakeSpan(bytes));
  EXPECT_TRUE(read.ok()) << read;
  return bytes;
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  absl::StatusOr<std::unique_ptr<File>> file = PosixFileSystem()->Open(path, OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Truncate(0).ok());
  ASSERT_TRUE((*file)->Write(0, bytes).ok());
}

std::string Be32(int32_t v) {
  std::string out(4, '\0');
  StoreBE32(out.data(), static_cast<uint32_t>(v));
  return out;
}

std::string Be64(int64_t v) {
  std::string out(8, '\0');
  StoreBE64(out.data(), static_cast<uint64_t>(v));
  return out;
}

}  // namespace varve::index_test
