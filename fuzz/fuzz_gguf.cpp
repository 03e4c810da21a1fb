// libFuzzer target: the GGUF reader on arbitrary bytes. Every input must either parse or return a
// Status; a crash, sanitizer report, leak or out-of-memory is a bug in src/io/gguf.cpp.
// On success we touch what a loader would use (metadata values, tensor views, the canonical
// description) so views pointing outside the buffer are caught by ASan.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "io/gguf.hpp"
#include "io/model_description.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = llmkit::io::GgufFile::parse(data, size, "fuzz.gguf");
  if (!r.is_ok()) {
    // Every failure must carry a message naming the input.
    if (r.status().message().find("fuzz.gguf") == std::string::npos) __builtin_trap();
    return 0;
  }
  const llmkit::io::GgufFile& g = **r;
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : g.metadata()) {
    sink = sink + key.size() + value.array_size() + value.to_display(4).size();
  }
  for (const auto& t : g.tensors()) {
    if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
  std::shared_ptr<const llmkit::io::GgufFile> shared(std::move(r).value());
  auto d = llmkit::io::describe_gguf(shared);
  if (d.is_ok()) sink = sink + (*d)->parameter_count();
  (void)sink;
  return 0;
}
