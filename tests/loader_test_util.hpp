// Helpers shared by the loader tests (test_gguf, test_safetensors, test_model_description,
// test_malformed): the reference readings in tests/golden/loaders.json (written by
// tools/gen_loader_goldens.py from the `gguf` and `safetensors` Python packages), temp dirs and
// small hashing utilities.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "io/sha256.hpp"
#include "test_util.hpp"

namespace llmkit::test {

inline const nlohmann::json& loader_goldens() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/loaders.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
  }();
  return j;
}

inline std::string sha256_hex(const uint8_t* p, size_t n) {
  io::Sha256 h;
  h.update(p, n);
  return h.hex_digest();
}

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("llmkit-loader-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace llmkit::test
