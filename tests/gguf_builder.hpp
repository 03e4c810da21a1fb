// Tiny writers for GGUF and safetensors bytes, used by the loader tests to build valid files and
// deliberately broken ones (wrong counts, offsets, lengths, types). Everything is written by hand,
// little-endian, following the GGUF spec (ggml docs/gguf.md) and the safetensors format, so the
// tests do not depend on the reader under test to produce their inputs.
//
// GgufBuilder records where each section starts (Layout) so tests can truncate a file at every
// section boundary or patch a field in place.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace llmkit::test {

using Bytes = std::vector<uint8_t>;

inline void put_u8(Bytes& b, uint8_t v) { b.push_back(v); }
template <typename T>
inline void put_le(Bytes& b, T v) {
  uint8_t tmp[sizeof(T)];
  std::memcpy(tmp, &v, sizeof(T));  // x86-64 / aarch64 are little-endian, like the formats
  b.insert(b.end(), tmp, tmp + sizeof(T));
}
inline void put_str(Bytes& b, const std::string& s) {
  put_le<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}
template <typename T>
inline void patch_le(Bytes& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}
template <typename T>
inline T read_le(const Bytes& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

inline bool write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(out);
}
inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// GGUF value type ids (spec).
enum GgufT : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kStr = 8,
  kArr = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

class GgufBuilder {
 public:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;  // ggml order
    uint32_t type = 0;
    Bytes data;
    std::optional<uint64_t> offset;  // override the offset written in the tensor info
  };
  // Byte offsets of each section in the last build().
  struct Layout {
    size_t version = 4, tensor_count = 8, kv_count = 16;
    std::vector<size_t> kv_begin;      // start of each KV pair (its key length)
    std::vector<size_t> tensor_begin;  // start of each tensor info (its name length)
    size_t tensor_infos_end = 0;       // end of the last tensor info
    size_t data_begin = 0;             // aligned start of the data section
    std::vector<size_t> tensor_data;   // absolute start of each tensor's data
    size_t end = 0;
  };

  uint32_t version = 3;
  uint32_t alignment = 32;  // used for layout; write general.alignment yourself to change it
  std::optional<uint64_t> tensor_count_override, kv_count_override;
  std::string magic = "GGUF";

  // Raw KV: KEY, then TYPE, then the value bytes exactly as given.
  GgufBuilder& kv_raw(const std::string& key, uint32_t type, const Bytes& value) {
    Bytes b;
    put_str(b, key);
    put_le<uint32_t>(b, type);
    b.insert(b.end(), value.begin(), value.end());
    kvs_.push_back(std::move(b));
    return *this;
  }
  GgufBuilder& kv_u32(const std::string& k, uint32_t v) { return kv_raw(k, kU32, le(v)); }
  GgufBuilder& kv_i32(const std::string& k, int32_t v) { return kv_raw(k, kI32, le(v)); }
  GgufBuilder& kv_u64(const std::string& k, uint64_t v) { return kv_raw(k, kU64, le(v)); }
  GgufBuilder& kv_f32(const std::string& k, float v) { return kv_raw(k, kF32, le(v)); }
  GgufBuilder& kv_bool(const std::string& k, bool v) {
    return kv_raw(k, kBool, Bytes{uint8_t(v ? 1 : 0)});
  }
  GgufBuilder& kv_str(const std::string& k, const std::string& v) {
    Bytes b;
    put_str(b, v);
    return kv_raw(k, kStr, b);
  }
  GgufBuilder& kv_arr_str(const std::string& k, const std::vector<std::string>& v) {
    Bytes b;
    put_le<uint32_t>(b, kStr);
    put_le<uint64_t>(b, v.size());
    for (const auto& s : v) put_str(b, s);
    return kv_raw(k, kArr, b);
  }
  GgufBuilder& kv_arr_i32(const std::string& k, const std::vector<int32_t>& v) {
    Bytes b;
    put_le<uint32_t>(b, kI32);
    put_le<uint64_t>(b, v.size());
    for (int32_t x : v) put_le(b, x);
    return kv_raw(k, kArr, b);
  }
  GgufBuilder& kv_arr_f32(const std::string& k, const std::vector<float>& v) {
    Bytes b;
    put_le<uint32_t>(b, kF32);
    put_le<uint64_t>(b, v.size());
    for (float x : v) put_le(b, x);
    return kv_raw(k, kArr, b);
  }

  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      Bytes data, std::optional<uint64_t> offset = std::nullopt) {
    tensors_.push_back({name, std::move(dims), type, std::move(data), offset});
    return *this;
  }
  // F32 tensor whose values are 0, 1, 2, ... (n = product of dims).
  GgufBuilder& tensor_f32(const std::string& name, std::vector<uint64_t> dims) {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    Bytes data;
    for (uint64_t i = 0; i < n; ++i) put_le<float>(data, static_cast<float>(i));
    return tensor(name, std::move(dims), 0, std::move(data));
  }
  // A tensor info with an arbitrary raw encoding (for n_dims / dim / type fuzzing).
  GgufBuilder& tensor_info_raw(const Bytes& info) {
    raw_infos_.push_back(info);
    return *this;
  }

  std::vector<Tensor>& tensors() { return tensors_; }
  const Layout& layout() const { return layout_; }

  Bytes build() {
    Bytes b;
    layout_ = Layout{};
    b.insert(b.end(), magic.begin(), magic.end());
    put_le<uint32_t>(b, version);
    put_le<uint64_t>(b, tensor_count_override.value_or(tensors_.size() + raw_infos_.size()));
    put_le<uint64_t>(b, kv_count_override.value_or(kvs_.size()));
    for (const auto& kv : kvs_) {
      layout_.kv_begin.push_back(b.size());
      b.insert(b.end(), kv.begin(), kv.end());
    }
    // Data offsets: each tensor aligned within the data section.
    std::vector<uint64_t> offs;
    uint64_t off = 0;
    for (const auto& t : tensors_) {
      offs.push_back(off);
      off += pad(t.data.size());
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      layout_.tensor_begin.push_back(b.size());
      put_str(b, t.name);
      put_le<uint32_t>(b, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) put_le<uint64_t>(b, d);
      put_le<uint32_t>(b, t.type);
      put_le<uint64_t>(b, t.offset.value_or(offs[i]));
    }
    for (const auto& r : raw_infos_) {
      layout_.tensor_begin.push_back(b.size());
      b.insert(b.end(), r.begin(), r.end());
    }
    layout_.tensor_infos_end = b.size();
    // Writers pad to the alignment only when a data section follows (vocab-only files end here).
    if (!tensors_.empty()) b.resize(pad(b.size()), 0);
    layout_.data_begin = b.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      layout_.tensor_data.push_back(b.size());
      b.insert(b.end(), tensors_[i].data.begin(), tensors_[i].data.end());
      b.resize(layout_.data_begin +
                   (i + 1 < tensors_.size() ? offs[i + 1] : pad(b.size() - layout_.data_begin)),
               0);
    }
    layout_.end = b.size();
    return b;
  }

  template <typename T>
  static Bytes le(T v) {
    Bytes b;
    put_le(b, v);
    return b;
  }

 private:
  uint64_t pad(uint64_t n) const { return (n + alignment - 1) / alignment * alignment; }
  std::vector<Bytes> kvs_;
  std::vector<Tensor> tensors_;
  std::vector<Bytes> raw_infos_;
  Layout layout_;
};

// safetensors: 8-byte little-endian header length, HEADER (JSON text, written as given), BUFFER.
inline Bytes make_safetensors(const std::string& header, const Bytes& buffer,
                              std::optional<uint64_t> header_len_override = std::nullopt) {
  Bytes b;
  put_le<uint64_t>(b, header_len_override.value_or(header.size()));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), buffer.begin(), buffer.end());
  return b;
}

}  // namespace llmkit::test
