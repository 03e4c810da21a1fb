#include "io/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "io/utf8.hpp"

namespace llmkit::io {

const char* gguf_type_name(GgufType t) noexcept {
  switch (t) {
    case GgufType::UINT8:
      return "uint8";
    case GgufType::INT8:
      return "int8";
    case GgufType::UINT16:
      return "uint16";
    case GgufType::INT16:
      return "int16";
    case GgufType::UINT32:
      return "uint32";
    case GgufType::INT32:
      return "int32";
    case GgufType::FLOAT32:
      return "float32";
    case GgufType::BOOL:
      return "bool";
    case GgufType::STRING:
      return "string";
    case GgufType::ARRAY:
      return "array";
    case GgufType::UINT64:
      return "uint64";
    case GgufType::INT64:
      return "int64";
    case GgufType::FLOAT64:
      return "float64";
  }
  return "unknown";
}

uint64_t GgufValue::array_size() const noexcept {
  if (type != GgufType::ARRAY) return 0;
  if (elided_size > 0) return elided_size;
  switch (elem_type) {
    case GgufType::STRING:
      return arr_str.size();
    case GgufType::FLOAT32:
    case GgufType::FLOAT64:
      return arr_float.size();
    case GgufType::ARRAY:
      return arr_nested.size();
    default:
      return arr_int.size();
  }
}

std::optional<int64_t> GgufValue::as_int() const noexcept {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::UINT16:
    case GgufType::UINT32:
    case GgufType::BOOL:
      return static_cast<int64_t>(u64);
    case GgufType::UINT64:
      if (u64 > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(u64);
    case GgufType::INT8:
    case GgufType::INT16:
    case GgufType::INT32:
    case GgufType::INT64:
      return i64;
    default:
      return std::nullopt;
  }
}

std::optional<double> GgufValue::as_float() const noexcept {
  if (type == GgufType::FLOAT32 || type == GgufType::FLOAT64) return f64;
  if (type == GgufType::UINT64) return static_cast<double>(u64);
  auto i = as_int();
  if (i) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const noexcept {
  if (type == GgufType::BOOL) return u64 != 0;
  return std::nullopt;
}

std::string GgufValue::to_display(size_t max_items) const {
  switch (type) {
    case GgufType::STRING: {
      std::string s = str.size() > 80 ? str.substr(0, 77) + "..." : str;
      std::string out = "\"";
      for (char c : s) {
        if (c == '\n')
          out += "\\n";
        else if (c == '"')
          out += "\\\"";
        else
          out += c;
      }
      return out + "\"";
    }
    case GgufType::BOOL:
      return u64 ? "true" : "false";
    case GgufType::FLOAT32:
    case GgufType::FLOAT64: {
      char buf[64];
      snprintf(buf, sizeof buf, "%g", f64);
      return buf;
    }
    case GgufType::UINT8:
    case GgufType::UINT16:
    case GgufType::UINT32:
    case GgufType::UINT64:
      return std::to_string(u64);
    case GgufType::INT8:
    case GgufType::INT16:
    case GgufType::INT32:
    case GgufType::INT64:
      return std::to_string(i64);
    case GgufType::ARRAY: {
      uint64_t n = array_size();
      std::string out =
          std::string("[") + gguf_type_name(elem_type) + " x " + std::to_string(n) + "]";
      if (n == 0) return out;
      if (elided_size > 0) return out + " (elements not kept)";
      out += " {";
      for (uint64_t i = 0; i < n && i < max_items; ++i) {
        if (i) out += ", ";
        if (elem_type == GgufType::STRING) {
          GgufValue v;
          v.type = GgufType::STRING;
          v.str = arr_str[i];
          out += v.to_display();
        } else if (elem_type == GgufType::FLOAT32 || elem_type == GgufType::FLOAT64) {
          char buf[64];
          snprintf(buf, sizeof buf, "%g", arr_float[i]);
          out += buf;
        } else if (elem_type == GgufType::ARRAY) {
          out += arr_nested[i].to_display(max_items);
        } else {
          out += std::to_string(arr_int[i]);
        }
      }
      if (n > max_items) out += ", ...";
      return out + "}";
    }
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Parser: a bounds-checked cursor over the buffer.

class GgufParser {
 public:
  GgufParser(const uint8_t* data, uint64_t size, std::string name, const GgufParseOptions& opts)
      : data_(data), size_(size), name_(std::move(name)), opts_(opts) {}

  Result<std::unique_ptr<GgufFile>> run();

 private:
  Status err(StatusCode code, const std::string& field, uint64_t at,
             const std::string& what) const {
    return Status(code, name_ + ": " + field + " at offset " + std::to_string(at) + ": " + what);
  }
  Status truncated(const std::string& field, uint64_t need) const {
    return err(StatusCode::kCorruptFile, field, pos_,
               "file truncated (need " + std::to_string(need) + " bytes, " +
                   std::to_string(size_ - pos_) + " remain of " + std::to_string(size_) + ")");
  }
  uint64_t remaining() const noexcept { return size_ - pos_; }

  template <typename T>
  Status read(T& out, const std::string& field) {
    if (remaining() < sizeof(T)) return truncated(field, sizeof(T));
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }

  Status read_string(std::string& out, const std::string& field, bool require_utf8) {
    uint64_t at = pos_;
    uint64_t len = 0;
    LLMKIT_RETURN_IF_ERROR(read(len, field + " (string length)"));
    if (len > opts_.max_string_bytes)
      return err(StatusCode::kCorruptFile, field, at,
                 "string length " + std::to_string(len) + " exceeds the limit of " +
                     std::to_string(opts_.max_string_bytes) + " bytes");
    if (len > remaining())
      return err(StatusCode::kCorruptFile, field, at,
                 "string length " + std::to_string(len) + " runs past the end of the file (" +
                     std::to_string(remaining()) + " bytes remain)");
    out.assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    if (require_utf8 && !utf8_valid(out))
      return err(StatusCode::kCorruptFile, field, at + 8, "string is not valid UTF-8");
    pos_ += len;
    return Status::ok();
  }

  // Minimum bytes one element of type t occupies, used to reject lying counts before allocating.
  static uint64_t min_size(GgufType t) {
    switch (t) {
      case GgufType::UINT8:
      case GgufType::INT8:
      case GgufType::BOOL:
        return 1;
      case GgufType::UINT16:
      case GgufType::INT16:
        return 2;
      case GgufType::UINT32:
      case GgufType::INT32:
      case GgufType::FLOAT32:
        return 4;
      case GgufType::UINT64:
      case GgufType::INT64:
      case GgufType::FLOAT64:
      case GgufType::STRING:
        return 8;
      case GgufType::ARRAY:
        return 12;
    }
    return 1;
  }

  static bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::FLOAT64); }

  Status read_scalar(GgufType t, GgufValue& v, const std::string& field) {
    v.type = t;
    switch (t) {
      case GgufType::UINT8: {
        uint8_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.u64 = x;
        break;
      }
      case GgufType::INT8: {
        int8_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.i64 = x;
        break;
      }
      case GgufType::UINT16: {
        uint16_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.u64 = x;
        break;
      }
      case GgufType::INT16: {
        int16_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.i64 = x;
        break;
      }
      case GgufType::UINT32: {
        uint32_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.u64 = x;
        break;
      }
      case GgufType::INT32: {
        int32_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.i64 = x;
        break;
      }
      case GgufType::UINT64: {
        uint64_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.u64 = x;
        break;
      }
      case GgufType::INT64: {
        int64_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.i64 = x;
        break;
      }
      case GgufType::FLOAT32: {
        float x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.f64 = x;
        break;
      }
      case GgufType::FLOAT64: {
        double x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        v.f64 = x;
        break;
      }
      case GgufType::BOOL: {
        uint64_t at = pos_;
        uint8_t x = 0;
        LLMKIT_RETURN_IF_ERROR(read(x, field));
        if (x > 1)
          return err(StatusCode::kCorruptFile, field, at,
                     "bool value " + std::to_string(x) + " is not 0 or 1");
        v.u64 = x;
        break;
      }
      case GgufType::STRING:
        LLMKIT_RETURN_IF_ERROR(read_string(v.str, field, false));
        break;
      case GgufType::ARRAY:
        return Status(StatusCode::kInternal, "read_scalar on array");
    }
    return Status::ok();
  }

  Status read_value(GgufType t, GgufValue& v, const std::string& field, uint32_t depth) {
    if (t != GgufType::ARRAY) return read_scalar(t, v, field);
    if (depth >= opts_.max_array_depth)
      return err(StatusCode::kCorruptFile, field, pos_,
                 "arrays nested deeper than " + std::to_string(opts_.max_array_depth));
    v.type = GgufType::ARRAY;
    uint64_t at = pos_;
    uint32_t et = 0;
    LLMKIT_RETURN_IF_ERROR(read(et, field + " (array element type)"));
    if (!valid_type(et))
      return err(StatusCode::kCorruptFile, field, at,
                 "unknown array element type " + std::to_string(et));
    v.elem_type = static_cast<GgufType>(et);
    uint64_t n = 0;
    LLMKIT_RETURN_IF_ERROR(read(n, field + " (array length)"));
    uint64_t ms = min_size(v.elem_type);
    if (n > remaining() / ms)
      return err(StatusCode::kCorruptFile, field, at + 4,
                 "array length " + std::to_string(n) + " of " + gguf_type_name(v.elem_type) +
                     " cannot fit in the " + std::to_string(remaining()) + " bytes that remain");
    if (n > opts_.max_kept_array_elems) {  // validate every element, keep only the length
      GgufValue e;
      for (uint64_t i = 0; i < n; ++i) {
        const std::string ef = field + "[" + std::to_string(i) + "]";
        if (v.elem_type == GgufType::STRING) {
          LLMKIT_RETURN_IF_ERROR(read_string(e.str, ef, false));
        } else if (v.elem_type == GgufType::ARRAY) {
          e = GgufValue();
          LLMKIT_RETURN_IF_ERROR(read_value(GgufType::ARRAY, e, ef, depth + 1));
        } else {
          LLMKIT_RETURN_IF_ERROR(read_scalar(v.elem_type, e, field));
        }
      }
      v.elided_size = n;
      return Status::ok();
    }
    switch (v.elem_type) {
      case GgufType::STRING:
        v.arr_str.resize(n);
        for (uint64_t i = 0; i < n; ++i)
          LLMKIT_RETURN_IF_ERROR(
              read_string(v.arr_str[i], field + "[" + std::to_string(i) + "]", false));
        break;
      case GgufType::ARRAY:
        v.arr_nested.resize(n);
        for (uint64_t i = 0; i < n; ++i)
          LLMKIT_RETURN_IF_ERROR(read_value(GgufType::ARRAY, v.arr_nested[i],
                                            field + "[" + std::to_string(i) + "]", depth + 1));
        break;
      case GgufType::FLOAT32:
      case GgufType::FLOAT64:
        v.arr_float.resize(n);
        for (uint64_t i = 0; i < n; ++i) {
          GgufValue e;
          LLMKIT_RETURN_IF_ERROR(read_scalar(v.elem_type, e, field));
          v.arr_float[i] = e.f64;
        }
        break;
      default:
        v.arr_int.resize(n);
        for (uint64_t i = 0; i < n; ++i) {
          GgufValue e;
          LLMKIT_RETURN_IF_ERROR(read_scalar(v.elem_type, e, field));
          v.arr_int[i] = (v.elem_type == GgufType::INT8 || v.elem_type == GgufType::INT16 ||
                          v.elem_type == GgufType::INT32 || v.elem_type == GgufType::INT64)
                             ? e.i64
                             : static_cast<int64_t>(e.u64);
        }
        break;
    }
    return Status::ok();
  }

  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string name_;
  GgufParseOptions opts_;
};

Result<std::unique_ptr<GgufFile>> GgufParser::run() {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name_;
  if (size_ < 4) return truncated("magic", 4);
  if (std::memcmp(data_, "GGUF", 4) != 0) {
    std::string got;
    for (int i = 0; i < 4; ++i) {
      char buf[8];
      snprintf(buf, sizeof buf, "%02x", data_[i]);
      got += buf;
    }
    return err(StatusCode::kCorruptFile, "magic", 0,
               "not a GGUF file (expected \"GGUF\", found bytes " + got + ")");
  }
  pos_ = 4;
  uint32_t version = 0;
  LLMKIT_RETURN_IF_ERROR(read(version, "version"));
  if (version != 2 && version != 3) {
    uint32_t swapped = __builtin_bswap32(version);
    if (swapped == 2 || swapped == 3)
      return err(StatusCode::kUnsupported, "version", 4, "big-endian GGUF files are not supported");
    return err(StatusCode::kUnsupported, "version", 4,
               "GGUF version " + std::to_string(version) + " is not supported (supported: 2, 3)");
  }
  f->version_ = version;
  uint64_t n_tensors = 0, n_kv = 0;
  LLMKIT_RETURN_IF_ERROR(read(n_tensors, "tensor_count"));
  LLMKIT_RETURN_IF_ERROR(read(n_kv, "metadata_kv_count"));
  // A KV pair needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least 8 + 4 + 4
  // + 8.
  if (n_kv > remaining() / 13)
    return err(StatusCode::kCorruptFile, "metadata_kv_count", 16,
               "count " + std::to_string(n_kv) + " cannot fit in a file of " +
                   std::to_string(size_) + " bytes");
  if (n_tensors > remaining() / 24)
    return err(StatusCode::kCorruptFile, "tensor_count", 8,
               "count " + std::to_string(n_tensors) + " cannot fit in a file of " +
                   std::to_string(size_) + " bytes");

  f->kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    uint64_t at = pos_;
    std::string key;
    LLMKIT_RETURN_IF_ERROR(read_string(key, "metadata key #" + std::to_string(i), true));
    if (key.empty())
      return err(StatusCode::kCorruptFile, "metadata key #" + std::to_string(i), at, "empty key");
    if (f->kv_index_.count(key))
      return err(StatusCode::kCorruptFile, "metadata key '" + key + "'", at, "duplicate key");
    uint64_t type_at = pos_;
    uint32_t t = 0;
    LLMKIT_RETURN_IF_ERROR(read(t, "metadata '" + key + "' type"));
    if (!valid_type(t))
      return err(StatusCode::kCorruptFile, "metadata '" + key + "'", type_at,
                 "unknown value type " + std::to_string(t));
    GgufValue v;
    LLMKIT_RETURN_IF_ERROR(read_value(static_cast<GgufType>(t), v, "metadata '" + key + "'", 0));
    f->kv_index_.emplace(key, f->kv_.size());
    f->kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = f->find("general.alignment")) {
    auto al = a->as_int();
    if (a->type != GgufType::UINT32 || !al || *al == 0 || (*al & (*al - 1)) != 0 || *al > (1 << 20))
      return err(StatusCode::kCorruptFile, "metadata 'general.alignment'", 0,
                 "must be a uint32 power of two (got " + a->to_display() + ")");
    f->alignment_ = static_cast<uint64_t>(*al);
  }

  f->tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    uint64_t at = pos_;
    GgufTensorInfo ti;
    LLMKIT_RETURN_IF_ERROR(read_string(ti.name, "tensor #" + std::to_string(i) + " name", true));
    std::string field = "tensor '" + ti.name + "'";
    if (f->tensor_index_.count(ti.name))
      return err(StatusCode::kCorruptFile, field, at, "duplicate tensor name");
    uint32_t n_dims = 0;
    uint64_t dims_at = pos_;
    LLMKIT_RETURN_IF_ERROR(read(n_dims, field + " n_dims"));
    if (n_dims == 0 || n_dims > 4)
      return err(StatusCode::kCorruptFile, field, dims_at,
                 "n_dims " + std::to_string(n_dims) + " is not in 1..4");
    ti.n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      LLMKIT_RETURN_IF_ERROR(read(ne, field + " dim"));
      if (ne > static_cast<uint64_t>(INT64_MAX) ||
          (ne != 0 && ti.n_elements > static_cast<uint64_t>(INT64_MAX) / ne))
        return err(StatusCode::kCorruptFile, field, dims_at, "element count overflows");
      ti.n_elements *= ne;
      ti.dims.push_back(ne);
    }
    uint64_t type_at = pos_;
    LLMKIT_RETURN_IF_ERROR(read(ti.type, field + " type"));
    const TypeTraits* tt = type_traits(ti.type);
    if (!tt || ti.type >= 1000)
      return err(StatusCode::kUnsupported, field, type_at,
                 "unknown ggml tensor type id " + std::to_string(ti.type));
    auto nb = tensor_bytes(ti.type, ti.dims[0], ti.n_elements);
    if (!nb)
      return err(StatusCode::kCorruptFile, field, dims_at,
                 "row length " + std::to_string(ti.dims[0]) + " is not a multiple of the " +
                     tt->name + " block size " + std::to_string(tt->block_size));
    ti.n_bytes = *nb;
    uint64_t off_at = pos_;
    LLMKIT_RETURN_IF_ERROR(read(ti.offset, field + " offset"));
    if (ti.offset % f->alignment_ != 0)
      return err(StatusCode::kCorruptFile, field, off_at,
                 "data offset " + std::to_string(ti.offset) + " is not aligned to " +
                     std::to_string(f->alignment_));
    f->tensor_index_.emplace(ti.name, f->tensors_.size());
    f->tensors_.push_back(std::move(ti));
  }

  uint64_t data_start = (pos_ + f->alignment_ - 1) / f->alignment_ * f->alignment_;
  if (n_tensors > 0 && data_start > size_)
    return err(StatusCode::kCorruptFile, "tensor data section", pos_,
               "file ends before the data section");
  uint64_t data_size = data_start <= size_ ? size_ - data_start : 0;

  // Bounds and overlap checks, in offset order.
  std::vector<size_t> order(f->tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return f->tensors_[a].offset < f->tensors_[b].offset; });
  uint64_t prev_end = 0;
  const GgufTensorInfo* prev = nullptr;
  for (size_t idx : order) {
    GgufTensorInfo& ti = f->tensors_[idx];
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset)
      return err(StatusCode::kCorruptFile, "tensor '" + ti.name + "'", data_start + ti.offset,
                 "data [" + std::to_string(ti.offset) + ", +" + std::to_string(ti.n_bytes) +
                     ") lies outside the data section of " + std::to_string(data_size) + " bytes");
    ti.file_offset = data_start + ti.offset;
    ti.data = data_ + ti.file_offset;
    // Empty tensors occupy no bytes and cannot overlap (checking them would make the verdict
    // depend on how the sort orders equal offsets).
    if (ti.n_bytes == 0) continue;
    if (prev && ti.offset < prev_end)
      return err(StatusCode::kCorruptFile, "tensor '" + ti.name + "'", data_start + ti.offset,
                 "data overlaps tensor '" + prev->name + "'");
    prev_end = ti.offset + ti.n_bytes;
    prev = &ti;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------

const GgufValue* GgufFile::find(const std::string& key) const noexcept {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}
std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::STRING) return std::nullopt;
  return v->str;
}
std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : std::nullopt;
}
std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}
const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const noexcept {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(const uint8_t* data, uint64_t size,
                                                  const std::string& name,
                                                  const GgufParseOptions& popts) {
  GgufParser p(data, size, name, popts);
  return p.run();
}

std::optional<SplitName> parse_split_name(const std::string& path) {
  // ...-00001-of-00003.gguf
  static const std::string kSuffix = ".gguf";
  if (path.size() < kSuffix.size() + 15 ||
      path.compare(path.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return std::nullopt;
  std::string stem = path.substr(0, path.size() - kSuffix.size());
  // stem ends with -NNNNN-of-NNNNN
  if (stem.size() < 15) return std::nullopt;
  std::string tail = stem.substr(stem.size() - 15);
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-") return std::nullopt;
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string a = tail.substr(1, 5), b = tail.substr(10, 5);
  if (!digits(a) || !digits(b)) return std::nullopt;
  SplitName sn{stem.substr(0, stem.size() - 15), static_cast<uint32_t>(std::stoul(a)),
               static_cast<uint32_t>(std::stoul(b))};
  if (sn.index == 0 || sn.count == 0 || sn.index > sn.count) return std::nullopt;
  return sn;
}

std::string make_split_name(const std::string& prefix, uint32_t index, uint32_t count) {
  char buf[32];
  snprintf(buf, sizeof buf, "-%05u-of-%05u.gguf", index, count);
  return prefix + buf;
}

Status GgufFile::merge_split(std::unique_ptr<GgufFile> other, uint32_t split_index) {
  for (auto& ti : other->tensors_) {
    if (tensor_index_.count(ti.name))
      return Status(StatusCode::kCorruptFile,
                    other->path_ + ": tensor '" + ti.name + "' also appears in another split");
    ti.split = split_index;
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }
  for (auto& f : other->files_) files_.push_back(std::move(f));
  return Status::ok();
}

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path, const MapOptions& opts,
                                                 const GgufParseOptions& popts) {
  auto open_one = [&](const std::string& p) -> Result<std::unique_ptr<GgufFile>> {
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mf, MappedFile::open(p, opts));
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> g, parse(mf->data(), mf->size(), p, popts));
    g->files_.push_back(std::move(mf));
    return g;
  };
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> first, open_one(path));
  auto sn = parse_split_name(path);
  auto count_kv = first->get_int("split.count");
  if (!sn && !count_kv) return first;
  uint32_t count = sn ? sn->count : static_cast<uint32_t>(*count_kv);
  if (count_kv && static_cast<uint32_t>(*count_kv) != count)
    return Status(StatusCode::kCorruptFile,
                  path + ": metadata 'split.count' = " + std::to_string(*count_kv) +
                      " disagrees with the file name (" + std::to_string(count) + " splits)");
  if (count <= 1) return first;
  if (!sn)
    return Status(StatusCode::kInvalidArgument,
                  path + ": metadata says the model is split into " + std::to_string(count) +
                      " files, but the name does not follow NAME-00001-of-0000N.gguf");
  if (sn->index != 1)
    return Status(StatusCode::kInvalidArgument,
                  path + ": open the first split (" + make_split_name(sn->prefix, 1, count) + ")");
  for (uint32_t i = 2; i <= count; ++i) {
    std::string p = make_split_name(sn->prefix, i, count);
    auto r = open_one(p);
    if (!r.is_ok()) {
      if (r.status().code() == StatusCode::kNotFound)
        return Status(StatusCode::kNotFound, path + ": missing split " + std::to_string(i) +
                                                 " of " + std::to_string(count) + ": " + p);
      return r.status();
    }
    auto no = (*r)->get_int("split.no");
    if (no && *no != static_cast<int64_t>(i - 1))
      return Status(StatusCode::kCorruptFile, p + ": metadata 'split.no' = " + std::to_string(*no) +
                                                  ", expected " + std::to_string(i - 1));
    LLMKIT_RETURN_IF_ERROR(first->merge_split(std::move(r).value(), i - 1));
  }
  return first;
}

}  // namespace llmkit::io
