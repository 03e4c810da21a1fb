// libFuzzer target: the repack-cache header and index parser (io/repack_cache_format.hpp). Any
// bytes must give either entries that lie inside the image or a reason, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "io/repack_cache_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Take the source identity from the image itself (header bytes 16..48), so inputs can get past
  // the staleness check and exercise the index.
  uint64_t id[4] = {0, 0, 0, 0};
  if (size >= 48) std::memcpy(id, data + 16, sizeof id);
  std::string why;
  auto entries = llmkit::io::parse_repack_cache(data, size, id, &why);
  if (!entries) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  for (const auto& e : *entries) {
    if (e.offset > size || e.size > size - e.offset || e.key.empty()) __builtin_trap();
    volatile uint8_t sink = e.size ? data[e.offset + e.size - 1] : 0;  // in bounds by contract
    (void)sink;
  }
  return 0;
}
