#include "io/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace llmkit::io {

using nlohmann::json;

Result<TensorType> safetensors_dtype(const std::string& dtype, const std::string& where) {
  static const std::map<std::string, TensorType> kMap = {
      {"F64", TensorType::F64},   {"F32", TensorType::F32}, {"F16", TensorType::F16},
      {"BF16", TensorType::BF16}, {"I64", TensorType::I64}, {"I32", TensorType::I32},
      {"I16", TensorType::I16},   {"I8", TensorType::I8},   {"U8", TensorType::U8},
      {"BOOL", TensorType::BOOL}};
  auto it = kMap.find(dtype);
  if (it != kMap.end()) return it->second;
  if (dtype.rfind("F8", 0) == 0)
    return Status(StatusCode::kUnsupported,
                  where + ": dtype " + dtype +
                      " (8-bit float) is not supported; convert the checkpoint to BF16/F16/F32");
  return Status(StatusCode::kUnsupported, where + ": unknown or unsupported dtype '" + dtype + "'");
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const noexcept {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

// A valid header nests 3 deep ({"name": {"shape": [...]}}). Deeper nesting is refused before
// parsing: nlohmann builds one heap node per level, so a 100 MB header of '[' would cost gigabytes.
constexpr int kMaxHeaderDepth = 16;

// Byte index of the first bracket nested deeper than kMaxHeaderDepth, or -1 (strings skipped).
int64_t too_deep_at(const char* begin, const char* end) {
  int depth = 0;
  bool in_string = false;
  for (const char* p = begin; p < end; ++p) {
    if (in_string) {
      if (*p == '\\')
        ++p;
      else if (*p == '"')
        in_string = false;
    } else if (*p == '"') {
      in_string = true;
    } else if (*p == '[' || *p == '{') {
      if (++depth > kMaxHeaderDepth) return p - begin;
    } else if (*p == ']' || *p == '}') {
      --depth;
    }
  }
  return -1;
}

// Parses JSON and rejects duplicate keys in the top-level object (nlohmann keeps the last one
// silently, which would let a file hide a tensor definition). Header byte i is file offset 8 + i.
Result<json> parse_header_json(const char* begin, const char* end, const std::string& where) {
  if (int64_t at = too_deep_at(begin, end); at >= 0)
    return Status(StatusCode::kCorruptFile, where + ": header JSON at offset " +
                                                std::to_string(8 + at) + ": nested deeper than " +
                                                std::to_string(kMaxHeaderDepth) + " levels");
  std::string duplicate;
  int depth = 0;
  std::vector<std::string> top_keys;
  json::parser_callback_t cb = [&](int d, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && d == 1) {
      const std::string& k = parsed.get_ref<const std::string&>();
      top_keys.push_back(k);
    }
    depth = d;
    return true;
  };
  json j;
  try {
    j = json::parse(begin, end, cb, /*allow_exceptions=*/true);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 within the header.
    const uint64_t at = 8 + (e.byte > 0 ? e.byte - 1 : 0);
    return Status(StatusCode::kCorruptFile,
                  where + ": header JSON at offset " + std::to_string(at) + ": " + e.what());
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, where + ": header JSON: " + e.what());
  }
  std::sort(top_keys.begin(), top_keys.end());
  auto dup = std::adjacent_find(top_keys.begin(), top_keys.end());
  if (dup != top_keys.end())
    return Status(StatusCode::kCorruptFile,
                  where + ": header JSON at offset 8: duplicate key '" + *dup + "'");
  (void)depth;
  return j;
}

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::parse(const uint8_t* data, uint64_t size,
                                                                const std::string& name,
                                                                const SafetensorsOptions& sopts) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = name;
  if (size < 8)
    return Status(StatusCode::kCorruptFile, name + ": header length at offset 0: file truncated (" +
                                                std::to_string(size) + " bytes, need 8)");
  uint64_t n = 0;
  std::memcpy(&n, data, 8);
  if (n > sopts.max_header_bytes)
    return Status(StatusCode::kCorruptFile,
                  name + ": header length at offset 0: " + std::to_string(n) +
                      " bytes exceeds the limit of " + std::to_string(sopts.max_header_bytes));
  if (n > size - 8)
    return Status(StatusCode::kCorruptFile,
                  name + ": header length at offset 0: " + std::to_string(n) +
                      " bytes runs past the end of the file (" + std::to_string(size) + " bytes)");
  if (n < 2)
    return Status(StatusCode::kCorruptFile,
                  name + ": header at offset 8: too short to be a JSON object");
  const char* hb = reinterpret_cast<const char*>(data + 8);
  LLMKIT_ASSIGN_OR_RETURN(json header, parse_header_json(hb, hb + n, name));
  if (!header.is_object())
    return Status(StatusCode::kCorruptFile, name + ": header at offset 8: not a JSON object");

  const uint64_t buffer_start = 8 + n;
  const uint64_t buffer_size = size - buffer_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const std::string where = name + ": tensor '" + key + "'";
    if (key == "__metadata__") {
      if (!it->is_object())
        return Status(StatusCode::kCorruptFile, name + ": __metadata__: not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          return Status(StatusCode::kCorruptFile,
                        name + ": __metadata__." + m.key() + ": value is not a string");
        f->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const json& t = *it;
    if (!t.is_object()) return Status(StatusCode::kCorruptFile, where + ": entry is not an object");
    if (!t.contains("dtype") || !t["dtype"].is_string())
      return Status(StatusCode::kCorruptFile, where + ": field 'dtype' missing or not a string");
    if (!t.contains("shape") || !t["shape"].is_array())
      return Status(StatusCode::kCorruptFile, where + ": field 'shape' missing or not an array");
    if (!t.contains("data_offsets") || !t["data_offsets"].is_array() ||
        t["data_offsets"].size() != 2)
      return Status(StatusCode::kCorruptFile,
                    where + ": field 'data_offsets' must be an array of two integers");
    SafetensorsTensor st;
    st.name = key;
    st.dtype = t["dtype"].get<std::string>();
    LLMKIT_ASSIGN_OR_RETURN(st.type, safetensors_dtype(st.dtype, where));
    if (t["shape"].size() > 8)
      return Status(StatusCode::kCorruptFile, where + ": shape has more than 8 dimensions");
    st.n_elements = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned())
        return Status(StatusCode::kCorruptFile,
                      where + ": shape entries must be non-negative integers");
      uint64_t v = d.get<uint64_t>();
      if (v != 0 && st.n_elements > (UINT64_MAX >> 4) / v)
        return Status(StatusCode::kCorruptFile, where + ": shape element count overflows");
      st.n_elements *= v;
      st.shape.push_back(v);
    }
    for (const auto& o : t["data_offsets"])
      if (!o.is_number_unsigned())
        return Status(StatusCode::kCorruptFile,
                      where + ": data_offsets must be non-negative integers");
    st.begin = t["data_offsets"][0].get<uint64_t>();
    st.end = t["data_offsets"][1].get<uint64_t>();
    if (st.begin > st.end)
      return Status(StatusCode::kCorruptFile, where + ": data_offsets [" +
                                                  std::to_string(st.begin) + ", " +
                                                  std::to_string(st.end) + "] are reversed");
    if (st.end > buffer_size)
      return Status(StatusCode::kCorruptFile,
                    where + ": data_offsets end " + std::to_string(st.end) +
                        " lies past the byte buffer of " + std::to_string(buffer_size) +
                        " bytes (file offset " + std::to_string(buffer_start + st.end) + ")");
    const TypeTraits* tt = type_traits(st.type);
    uint64_t expect = st.n_elements * tt->type_size;
    if (st.end - st.begin != expect)
      return Status(StatusCode::kCorruptFile,
                    where + ": " + std::to_string(st.end - st.begin) + " bytes at file offset " +
                        std::to_string(buffer_start + st.begin) + " do not match shape x dtype (" +
                        std::to_string(expect) + " bytes)");
    st.file_offset = buffer_start + st.begin;
    st.data = data + st.file_offset;
    f->index_.emplace(st.name, f->tensors_.size());
    f->tensors_.push_back(std::move(st));
  }
  // Overlap check in offset order (empty tensors occupy no bytes and cannot overlap).
  std::vector<const SafetensorsTensor*> order;
  for (const auto& t : f->tensors_)
    if (t.end > t.begin) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i]->begin < order[i - 1]->end)
      return Status(StatusCode::kCorruptFile, name + ": tensor '" + order[i]->name +
                                                  "' at file offset " +
                                                  std::to_string(order[i]->file_offset) +
                                                  " overlaps tensor '" + order[i - 1]->name + "'");
  }
  return f;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path,
                                                               const MapOptions& opts,
                                                               const SafetensorsOptions& sopts) {
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mf, MappedFile::open(path, opts));
  std::shared_ptr<const MappedFile> shared(std::move(mf));
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> f,
                          parse(shared->data(), shared->size(), path, sopts));
  f->file_ = std::move(shared);
  return f;
}

}  // namespace llmkit::io
