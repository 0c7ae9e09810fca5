// A main() for the libFuzzer targets when they are built without libFuzzer (the normal gcc and
// ASan builds): runs LLVMFuzzerTestOneInput once on each file named on the command line, and on
// every file inside each directory named, in name order. Arguments starting with '-' (libFuzzer
// flags) are ignored, so a replay command line works with either main. Exits non-zero when it
// ran nothing; an input that breaks an invariant aborts the process.
//
// Example:
//   bazel-bin/log/batch_fuzzer log/testdata/fuzz/batch_fuzzer/   # replay the corpus
//   bazel-bin/log/batch_fuzzer crash-1234abcd                    # debug one input with gdb

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz_main: cannot read %s\n", path.c_str());
    return false;
  }
  const std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "fuzz_main: running %s (%zu bytes)\n", path.c_str(), input.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    if (argv[i][0] == '-') continue;
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      std::vector<std::filesystem::path> entries;
      for (const auto& entry : std::filesystem::directory_iterator(arg, error)) {
        if (!entry.is_directory()) entries.push_back(entry.path());
      }
      std::sort(entries.begin(), entries.end());
      files.insert(files.end(), entries.begin(), entries.end());
    } else {
      files.push_back(arg);
    }
  }
  int ran = 0;
  for (const std::filesystem::path& file : files) {
    if (!RunFile(file)) return 1;
    ++ran;
  }
  std::fprintf(stderr, "fuzz_main: %d inputs ran without breaking an invariant\n", ran);
  return ran > 0 ? 0 : 1;
}
