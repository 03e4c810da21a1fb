#include "ops/linear.hpp"

#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include "ops/dequant.hpp"
#include "ops/linear_impl.hpp"

namespace llmkit::ops {

namespace {

// Parity reference: dequantize one weight row (bit-exact with gguf.quants), dot in double.
struct ReferenceLinear final : PackedLinear::Impl {
  const uint8_t* data = nullptr;  // borrowed, or points into `own`
  std::vector<uint8_t> own;  // kFast without a fast kernel: a private copy (kFast never borrows)
  uint64_t rb = 0;           // bytes per row

  void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const override {
    pool.parallel_for(N, [&](int64_t n0, int64_t n1) {
      std::vector<float> w(static_cast<size_t>(K));
      for (int64_t n = n0; n < n1; ++n) {
        // Cannot fail: type and K were validated at create().
        (void)dequantize_row(type, data + uint64_t(n) * rb, w.data(), K);
        for (int64_t m = 0; m < M; ++m) {
          const float* xm = x + m * K;
          double s = 0.0;
          for (int64_t k = 0; k < K; ++k) s += double(xm[k]) * double(w[size_t(k)]);
          y[m * N + n] = float(s);
        }
      }
    });
  }
  const char* name() const noexcept override { return "reference"; }
};

}  // namespace

uint64_t row_bytes(io::TensorType type, int64_t k) noexcept {
  const auto* t = io::type_traits(type);
  if (!t || k < 0 || k % t->block_size != 0) return 0;
  return uint64_t(k) / t->block_size * t->type_size;
}

bool PackedLinear::supports(io::TensorType type, Backend backend) noexcept {
  // kFast falls back to the reference kernel for types without a fast kernel.
  return can_dequantize(type);
}

Result<PackedLinear> PackedLinear::create(io::TensorType type, const uint8_t* data, int64_t n_in,
                                          int64_t n_out, Backend backend,
                                          const ReleaseFn& release) {
  const auto* tr = io::type_traits(type);
  if (!tr || !can_dequantize(type))
    return Status(StatusCode::kUnsupported,
                  "linear: unsupported weight type " + io::type_name(uint32_t(type)));
  if (n_in <= 0 || n_out <= 0 || n_in % tr->block_size != 0)
    return Status(StatusCode::kInvalidArgument,
                  "linear: bad shape K=" + std::to_string(n_in) + " N=" + std::to_string(n_out) +
                      " for " + tr->name + " (K must be a positive multiple of " +
                      std::to_string(tr->block_size) + ")");
  if (!data) return Status(StatusCode::kInvalidArgument, "linear: null weight data");
  // Sizes come from files: refuse products that would not fit (the packed copy is ~1-2x these).
  if (uint64_t(n_out) > (uint64_t(1) << 40) / std::max<uint64_t>(1, row_bytes(type, n_in)) ||
      n_in > (int64_t(1) << 31) || n_out > (int64_t(1) << 31))
    return Status(StatusCode::kOutOfMemory, "linear: matrix of " + std::to_string(n_out) + " x " +
                                                std::to_string(n_in) + " is too large");
  PackedLinear out;
  if (backend == Backend::kFast) {
    try {
      out.impl_ = make_fast_linear(type, data, n_in, n_out, release);
    } catch (const std::bad_alloc&) {
      return Status(StatusCode::kOutOfMemory, "linear: no memory for the packed " +
                                                  std::to_string(n_out) + " x " +
                                                  std::to_string(n_in) + " weights");
    }
    if (out.impl_) {
      out.impl_->type = type;
      out.impl_->K = n_in;
      out.impl_->N = n_out;
      out.impl_->backend = backend;
      return out;
    }
  }
  auto ref = std::make_unique<ReferenceLinear>();
  ref->data = data;
  ref->rb = row_bytes(type, n_in);
  if (backend == Backend::kFast) {
    ref->own.assign(data, data + ref->rb * uint64_t(n_out));
    ref->data = ref->own.data();
  }
  ref->wbytes = ref->rb * uint64_t(n_out);
  ref->type = type;
  ref->K = n_in;
  ref->N = n_out;
  ref->backend = backend;
  out.impl_ = std::move(ref);
  return out;
}

Result<PackedLinear> PackedLinear::create_stacked(io::TensorType type,
                                                  const std::vector<RowBlock>& blocks, int64_t n_in,
                                                  const ReleaseFn& release) {
  const auto* tr = io::type_traits(type);
  int64_t n_out = 0;
  for (const RowBlock& b : blocks) {
    if (!b.data || b.rows <= 0)
      return Status(StatusCode::kInvalidArgument, "linear: empty block in a stacked matrix");
    n_out += b.rows;
  }
  if (!tr || n_in <= 0 || n_in % tr->block_size != 0 || n_out <= 0 || n_in > (int64_t(1) << 31) ||
      n_out > (int64_t(1) << 31))
    return Status(StatusCode::kInvalidArgument, "linear: bad stacked shape");
  PackedLinear out;
  try {
    out.impl_ = make_quant_linear_stacked(type, blocks, n_in, release);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "linear: no memory for the packed " +
                                                std::to_string(n_out) + " x " +
                                                std::to_string(n_in) + " weights");
  }
  if (!out.impl_)
    return Status(StatusCode::kUnsupported,
                  "linear: no stacked kernel for " + io::type_name(uint32_t(type)));
  out.impl_->type = type;
  out.impl_->K = n_in;
  out.impl_->N = n_out;
  out.impl_->backend = Backend::kFast;
  return out;
}

Result<PackedLinear> PackedLinear::from_packed(io::TensorType type, int64_t n_in, int64_t n_out,
                                               const uint8_t* bytes, uint64_t n_bytes,
                                               std::shared_ptr<const void> owner) {
  const auto* tr = io::type_traits(type);
  if (!tr || !bytes || n_in <= 0 || n_out <= 0 || n_in % tr->block_size != 0 ||
      n_in > (int64_t(1) << 31) || n_out > (int64_t(1) << 31))
    return Status(StatusCode::kInvalidArgument, "linear: bad packed layer arguments");
  WeightBuffer view = WeightBuffer::borrow(bytes, size_t(n_bytes), std::move(owner));
  PackedLinear out;
  out.impl_ = make_fast_linear_view(type, n_in, n_out, view);
  if (!out.impl_)
    return Status(StatusCode::kInvalidArgument,
                  "linear: " + std::to_string(n_bytes) + " packed bytes do not fit a " +
                      std::to_string(n_out) + " x " + std::to_string(n_in) + " " + tr->name +
                      " layer");
  out.impl_->type = type;
  out.impl_->K = n_in;
  out.impl_->N = n_out;
  out.impl_->backend = Backend::kFast;
  return out;
}

uint64_t packed_format_fingerprint(io::TensorType type) {
  const auto* tr = io::type_traits(type);
  if (!tr || !fast_linear_supports(type)) return 0;
  // 32 rows (two 16-row tiles) of fixed bytes, at K = 512, 2048 and 4096: short and long rows are
  // packed in different layouts (linear_fast.cpp, kChunkedMaxK = 2048), and the hash must see
  // both, and change when the threshold between them moves. Every K is a multiple of every block
  // size. Float types get finite values (random bit patterns would include NaNs whose payload the
  // hash would then depend on); quantized blocks take any bytes.
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the packed bytes
  for (const int64_t kK : {int64_t(512), int64_t(2048), int64_t(4096)}) {
    constexpr int64_t kN = 32;
    const uint64_t rb = row_bytes(type, kK);
    std::vector<uint8_t> src(size_t(rb * kN));
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < src.size(); ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      src[i] = uint8_t(state >> 56);
    }
    if (type == io::TensorType::F32 || type == io::TensorType::F16 ||
        type == io::TensorType::BF16) {
      for (size_t i = 1; i < src.size(); i += 2) src[i] &= 0x3B;  // clears exponent MSBs: finite
    } else if (tr->type_size >= 2) {
      // Block scales (f16 at the start of a block for the 32-element types): keep them finite.
      for (size_t b = 0; b + tr->type_size <= src.size(); b += tr->type_size) src[b + 1] &= 0x3B;
    }
    auto lin = PackedLinear::create(type, src.data(), kK, kN, Backend::kFast);
    if (!lin || !lin->packed_data()) return 0;
    for (uint64_t i = 0; i < lin->packed_size(); ++i)
      h = (h ^ lin->packed_data()[i]) * 0x100000001b3ull;
  }
  return h ? h : 1;
}

PackedLinear::PackedLinear() = default;
PackedLinear::PackedLinear(PackedLinear&&) noexcept = default;
PackedLinear& PackedLinear::operator=(PackedLinear&&) noexcept = default;
PackedLinear::~PackedLinear() = default;

void PackedLinear::forward(const float* x, int64_t M, float* y, ThreadPool& pool) const {
  if (M <= 0 || !impl_) return;
  impl_->forward(x, M, y, pool);
}
int64_t PackedLinear::n_in() const noexcept { return impl_ ? impl_->K : 0; }
int64_t PackedLinear::n_out() const noexcept { return impl_ ? impl_->N : 0; }
io::TensorType PackedLinear::type() const noexcept {
  return impl_ ? impl_->type : io::TensorType::F32;
}
Backend PackedLinear::backend() const noexcept {
  return impl_ ? impl_->backend : Backend::kReference;
}
const char* PackedLinear::kernel_name() const noexcept { return impl_ ? impl_->name() : "none"; }
uint64_t PackedLinear::weight_bytes() const noexcept { return impl_ ? impl_->wbytes : 0; }
const uint8_t* PackedLinear::packed_data() const noexcept {
  const WeightBuffer* b = impl_ ? impl_->storage() : nullptr;
  return b ? b->data() : nullptr;
}
uint64_t PackedLinear::packed_size() const noexcept {
  const WeightBuffer* b = impl_ ? impl_->storage() : nullptr;
  return b ? b->size() : 0;
}

Status embedding_row(io::TensorType type, const uint8_t* data, int64_t row, int64_t n_embd,
                     float* out) noexcept {
  const uint64_t rb = row_bytes(type, n_embd);
  if (rb == 0 || row < 0 || !data)
    return {StatusCode::kInvalidArgument,
            "embedding_row: bad arguments for type " + io::type_name(uint32_t(type))};
  return dequantize_row(type, data + uint64_t(row) * rb, out, n_embd);
}

}  // namespace llmkit::ops
