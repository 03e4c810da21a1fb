// libFuzzer target: Hugging Face config.json parsing (typed hyperparameters) plus the HF tensor
// name mapping. Must never throw (nlohmann throws; the library converts to Status) or crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = llmkit::io::parse_hf_config(text, "config.json");
  if (!r.is_ok()) {
    if (r.status().message().find("config.json") == std::string::npos) __builtin_trap();
    return 0;
  }
  // Feed the same bytes through the name mapper with the parsed architecture.
  (void)llmkit::io::canonical_hf_name(text.substr(0, 256), r->architecture);
  return 0;
}
