// Shared helpers for the test suite: where fixtures and cached models live.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace llmkit::test {

// ../shared/fixtures (overridable with LLMKIT_FIXTURES).
inline std::string fixtures_dir() {
  if (const char* e = std::getenv("LLMKIT_FIXTURES")) return e;
  return LLMKIT_FIXTURES_DIR;
}
inline std::string fixture(const std::string& rel) { return fixtures_dir() + "/" + rel; }
inline bool have_fixtures() { return std::filesystem::is_directory(fixtures_dir()); }

// The model cache the setup script fills (LLMKIT_MODEL_CACHE or ~/.cache/llmkit).
inline std::string model_cache_dir() {
  if (const char* e = std::getenv("LLMKIT_MODEL_CACHE")) return e;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/llmkit";
}
inline std::string cached_model(const std::string& name) { return model_cache_dir() + "/" + name; }
inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace llmkit::test
