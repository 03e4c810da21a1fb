// libFuzzer target: the safetensors reader on arbitrary bytes (8-byte header length, JSON header,
// byte buffer). Parse must return a Status or a file whose every tensor view lies in the buffer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = llmkit::io::SafetensorsFile::parse(data, size, "fuzz.safetensors");
  if (!r.is_ok()) {
    if (r.status().message().find("fuzz.safetensors") == std::string::npos) __builtin_trap();
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const auto& t : (*r)->tensors()) {
    if (t.end > t.begin) sink = sink + t.data[0] + t.data[t.end - t.begin - 1];
    sink = sink + t.n_elements;
  }
  for (const auto& [k, v] : (*r)->metadata()) sink = sink + k.size() + v.size();
  (void)sink;
  return 0;
}
