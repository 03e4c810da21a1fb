#include "models/decoder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "models/repack_cache.hpp"
#include "ops/attention.hpp"
#include "ops/glu.hpp"
#include "ops/simd.hpp"

namespace llmkit::models {

namespace {

std::string shape_str(const std::vector<uint64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// y[i] = x[i] / rms(x) * w[i] over N elements (sum of squares in double, like llama.cpp).
// Eight partial sums in a fixed order: the products are exact in double, so only the order of
// the additions differs from a serial sum, and it is the same on every ISA; the compiler can
// keep the eight chains in vector registers instead of one add latency per element.
inline void rmsnorm_row(const float* x, const float* w, float* y, int64_t n, float eps) {
  double part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) part[l] += static_cast<double>(x[i + l]) * x[i + l];
  for (int l = 0; i < n; ++i, ++l) part[l] += static_cast<double>(x[i]) * x[i];
  const double ss =
      ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t k = 0; k < n; ++k) y[k] = x[k] * scale * w[k];
}

inline float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// RoPE inverse frequencies [head_dim/2] with the file's scaling (linear or Llama 3 smoothing).
std::vector<float> inverse_frequencies(uint32_t head_dim, float base, const io::HyperParams& hp,
                                       bool apply_scaling) {
  std::vector<float> f(head_dim / 2);
  for (uint32_t j = 0; j < head_dim / 2; ++j) {
    double inv = std::pow(static_cast<double>(base), -2.0 * j / static_cast<double>(head_dim));
    if (apply_scaling && hp.rope_scaling_factor > 0 && hp.rope_scaling_factor != 1.0f) {
      if (hp.rope_scaling_type == "linear") {
        inv /= hp.rope_scaling_factor;
      } else if (hp.rope_scaling_type == "llama3" && hp.rope_original_ctx > 0) {
        const double old_ctx = hp.rope_original_ctx;
        const double low_wl = old_ctx / hp.rope_low_freq_factor;
        const double high_wl = old_ctx / hp.rope_high_freq_factor;
        const double wl = 2.0 * M_PI / inv;
        if (wl > low_wl) {
          inv /= hp.rope_scaling_factor;
        } else if (wl >= high_wl) {
          const double smooth = (old_ctx / wl - hp.rope_low_freq_factor) /
                                (hp.rope_high_freq_factor - hp.rope_low_freq_factor);
          inv = (1 - smooth) * inv / hp.rope_scaling_factor + smooth * inv;
        }
      }
    }
    f[j] = static_cast<float>(inv);
  }
  return f;
}

}  // namespace

Result<std::unique_ptr<Decoder>> Decoder::build(std::shared_ptr<const io::ModelDescription> desc,
                                                const ArchConfig& arch, ops::Backend backend,
                                                const std::function<bool(float)>& progress,
                                                RepackCache* cache) {
  if (backend != ops::Backend::kFast) cache = nullptr;
  std::unique_ptr<Decoder> d(new Decoder());
  d->desc_ = desc;
  d->arch_ = arch;
  d->backend_ = backend;
  io::HyperParams& hp = d->hp_;
  hp = desc->hparams;
  const std::string where = desc->path + ": ";
  auto bad = [&](const std::string& what) {
    return Status(StatusCode::kCorruptFile, where + what);
  };
  if (hp.n_embd == 0 || hp.n_layer == 0 || hp.n_head == 0 || hp.n_head_kv == 0 || hp.head_dim == 0)
    return bad(
        "hyperparameters incomplete (n_embd, n_layer, n_head, n_head_kv and head_dim must be > 0)");
  if (hp.n_head % hp.n_head_kv != 0)
    return bad("n_head " + std::to_string(hp.n_head) + " is not a multiple of n_head_kv " +
               std::to_string(hp.n_head_kv));
  if (hp.head_dim % 2 != 0)
    return bad("head_dim " + std::to_string(hp.head_dim) + " is odd (RoPE needs pairs)");
  if (hp.n_layer > 4096 || hp.n_head > 4096 || hp.head_dim > 4096)
    return bad("implausible layer/head counts");

  const io::TensorRef* embd = desc->find("token_embd.weight");
  if (!embd) return bad("tensor 'token_embd.weight' is missing");
  if (embd->shape.size() != 2 || embd->shape[0] != hp.n_embd)
    return bad("tensor 'token_embd.weight' has shape " + shape_str(embd->shape) + ", expected [" +
               std::to_string(hp.n_embd) + ", n_vocab]");
  if (!embd->data) return bad("tensor 'token_embd.weight' has no data");
  hp.n_vocab = static_cast<uint32_t>(embd->shape[1]);
  d->embd_ = embd;
  if (hp.n_ff == 0) {
    if (const io::TensorRef* g = desc->find("blk.0.ffn_gate.weight"); g && g->shape.size() == 2)
      hp.n_ff = static_cast<uint32_t>(g->shape[1]);
  }

  const int64_t E = hp.n_embd, hd = hp.head_dim, qd = int64_t(hp.n_head) * hd,
                kvd = int64_t(hp.n_head_kv) * hd;
  const int64_t F = hp.n_ff;
  const bool rotate_half = desc->qk_order == io::QkRowOrder::kHfRotateHalf ||
                           (desc->format == io::SourceFormat::kGguf && arch.gguf_rope_rotate_half);
  const float norm_offset = desc->norm_weight_offset;

  auto get = [&](const std::string& name,
                 std::vector<uint64_t> shape) -> Result<const io::TensorRef*> {
    const io::TensorRef* t = desc->find(name);
    if (!t) return bad("tensor '" + name + "' is missing");
    if (t->shape != shape)
      return bad("tensor '" + name + "' has shape " + shape_str(t->shape) + ", expected " +
                 shape_str(shape));
    if (!t->data) return bad("tensor '" + name + "' has no data");
    return t;
  };
  // Rotate-half -> adjacent-pair permutation inside each head: new index 2j+i <- old i*hd/2+j.
  auto perm_index = [&](int64_t r) {
    const int64_t h = r / hd, w = r % hd, half = hd / 2;
    const int64_t i = w % 2, j = w / 2;
    return h * hd + i * half + j;  // old row for new row r
  };
  auto linear = [&](const std::string& name, int64_t K, int64_t N,
                    bool permute) -> Result<ops::PackedLinear> {
    LLMKIT_ASSIGN_OR_RETURN(const io::TensorRef* t, get(name, {uint64_t(K), uint64_t(N)}));
    if (!ops::PackedLinear::supports(t->type, backend))
      return Status(StatusCode::kUnsupported, where + "tensor '" + name + "' has type " +
                                                  io::type_name(uint32_t(t->type)) +
                                                  ", which this backend cannot multiply");
    // The cache key names the permutation: the same tensor packed both ways must not collide.
    const std::string key = permute ? name + "#rotate-half" : name;
    if (cache)
      if (auto hit = cache->lookup(key, t->type, K, N)) return std::move(*hit);
    const uint8_t* data = t->data;
    if (permute) {
      const uint64_t rb = ops::row_bytes(t->type, K);
      if (rb == 0 || rb * N != t->n_bytes)
        return bad("tensor '" + name + "' has an inconsistent byte size");
      std::vector<uint8_t> copy(t->n_bytes);
      for (int64_t r = 0; r < N; ++r) std::memcpy(&copy[r * rb], t->data + perm_index(r) * rb, rb);
      d->owned_.push_back(std::move(copy));
      data = d->owned_.back().data();
    }
    // Mapped source rows are given back while the rest is still being packed (the load's peak
    // RSS would otherwise hold the largest matrix twice).
    ops::PackedLinear::ReleaseFn release;
    if (backend == ops::Backend::kFast && !permute)
      release = [&](const uint8_t* p, uint64_t n) { desc->release_bytes(p, n); };
    auto lin = ops::PackedLinear::create(t->type, data, K, N, backend, release);
    if (!lin)
      return Status(lin.status().code(),
                    where + "tensor '" + name + "': " + lin.status().message());
    if (backend == ops::Backend::kFast) {
      if (permute) d->owned_.pop_back();  // kFast copied it
      // The packed copy is all the fast kernels read: give the mapped original back (the token
      // embedding rows a tied output shares are faulted in again on lookup).
      desc->release_tensor_pages(*t);
      if (cache) cache->record(key, *lin);
    }
    return std::move(lin).value();
  };
  // Several matrices with the same K and type stacked into one (rows of PARTS in order), or an
  // empty PackedLinear when the types differ (the caller then packs them separately).
  struct Part {
    std::string name;
    int64_t N;
    bool permute;
  };
  auto stacked = [&](const std::vector<Part>& parts, int64_t K) -> Result<ops::PackedLinear> {
    std::vector<const io::TensorRef*> ts;
    for (const Part& part : parts) {
      LLMKIT_ASSIGN_OR_RETURN(const io::TensorRef* t,
                              get(part.name, {uint64_t(K), uint64_t(part.N)}));
      if (!ts.empty() && t->type != ts[0]->type) return ops::PackedLinear();
      ts.push_back(t);
    }
    if (backend != ops::Backend::kFast) return ops::PackedLinear();
    std::string key;
    int64_t n_total = 0;
    for (const Part& part : parts) {
      key += (key.empty() ? "" : "+") + part.name + (part.permute ? "#rotate-half" : "");
      n_total += part.N;
    }
    if (cache)
      if (auto hit = cache->lookup(key, ts[0]->type, K, n_total)) return std::move(*hit);
    const uint64_t rb = ops::row_bytes(ts[0]->type, K);
    std::vector<ops::PackedLinear::RowBlock> blocks;
    std::vector<std::vector<uint8_t>> permuted;  // rotate-half parts, reordered copies
    for (size_t i = 0; i < parts.size(); ++i) {
      if (rb == 0 || rb * uint64_t(parts[i].N) != ts[i]->n_bytes)
        return bad("tensor '" + parts[i].name + "' has an inconsistent byte size");
      const uint8_t* src = ts[i]->data;
      if (parts[i].permute) {
        std::vector<uint8_t>& copy = permuted.emplace_back(ts[i]->n_bytes);
        for (int64_t r = 0; r < parts[i].N; ++r)
          std::memcpy(&copy[r * rb], ts[i]->data + perm_index(r) * rb, rb);
        src = copy.data();
      }
      blocks.push_back({src, parts[i].N});
    }
    auto lin = ops::PackedLinear::create_stacked(
        ts[0]->type, blocks, K, [&](const uint8_t* p, uint64_t n) { desc->release_bytes(p, n); });
    if (!lin && lin.status().code() == StatusCode::kUnsupported) return ops::PackedLinear();
    if (!lin)
      return Status(lin.status().code(),
                    where + "tensor '" + parts[0].name + "' (stacked): " + lin.status().message());
    for (const io::TensorRef* t : ts) desc->release_tensor_pages(*t);
    if (cache) cache->record(key, *lin);
    return std::move(lin).value();
  };
  auto vec = [&](const std::string& name, int64_t n, float offset, bool permute,
                 std::vector<float>& out) -> Status {
    LLMKIT_ASSIGN_OR_RETURN(const io::TensorRef* t, get(name, {uint64_t(n)}));
    std::vector<float> v(n);
    LLMKIT_RETURN_IF_ERROR(ops::embedding_row(t->type, t->data, 0, n, v.data()));
    if (backend == ops::Backend::kFast) desc->release_blocks_around(t->data, t->n_bytes);
    out.resize(n);
    for (int64_t i = 0; i < n; ++i) out[i] = v[permute ? perm_index(i) : i] + offset;
    return Status::ok();
  };

  // The output projection first: it is the largest matrix (often the token embedding itself), and
  // packing it while little else is resident keeps the load's peak RSS near the final one (each
  // packed tensor's mapped pages are released right after packing).
  if (desc->find("output.weight")) {
    LLMKIT_ASSIGN_OR_RETURN(d->output_, linear("output.weight", E, hp.n_vocab, false));
  } else {
    LLMKIT_ASSIGN_OR_RETURN(d->output_, linear("token_embd.weight", E, hp.n_vocab, false));
  }
  d->layers_.resize(hp.n_layer);
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    if (progress && !progress(static_cast<float>(il) / static_cast<float>(hp.n_layer + 1)))
      return Status(StatusCode::kCancelled, where + "load cancelled by the progress callback");
    LayerWeights& L = d->layers_[il];
    const std::string p = "blk." + std::to_string(il) + ".";
    LLMKIT_ASSIGN_OR_RETURN(L.wqkv, stacked({{p + "attn_q.weight", qd, rotate_half},
                                             {p + "attn_k.weight", kvd, rotate_half},
                                             {p + "attn_v.weight", kvd, false}},
                                            E));
    if (L.wqkv.n_out() == 0) {
      LLMKIT_ASSIGN_OR_RETURN(L.wq, linear(p + "attn_q.weight", E, qd, rotate_half));
      LLMKIT_ASSIGN_OR_RETURN(L.wk, linear(p + "attn_k.weight", E, kvd, rotate_half));
      LLMKIT_ASSIGN_OR_RETURN(L.wv, linear(p + "attn_v.weight", E, kvd, false));
    }
    LLMKIT_ASSIGN_OR_RETURN(L.wo, linear(p + "attn_output.weight", qd, E, false));
    LLMKIT_ASSIGN_OR_RETURN(
        L.gate_up,
        stacked({{p + "ffn_gate.weight", F, false}, {p + "ffn_up.weight", F, false}}, E));
    if (L.gate_up.n_out() == 0) {
      LLMKIT_ASSIGN_OR_RETURN(L.gate, linear(p + "ffn_gate.weight", E, F, false));
      LLMKIT_ASSIGN_OR_RETURN(L.up, linear(p + "ffn_up.weight", E, F, false));
    }
    LLMKIT_ASSIGN_OR_RETURN(L.down, linear(p + "ffn_down.weight", F, E, false));
    LLMKIT_RETURN_IF_ERROR(vec(p + "attn_norm.weight", E, norm_offset, false, L.attn_norm));
    LLMKIT_RETURN_IF_ERROR(vec(p + "ffn_norm.weight", E, norm_offset, false, L.ffn_norm));
    if (desc->find(p + "attn_q.bias")) {
      if (!arch.allow_qkv_bias)
        return bad("tensor '" + p + "attn_q.bias' is unexpected for architecture " + arch.name);
      LLMKIT_RETURN_IF_ERROR(vec(p + "attn_q.bias", qd, 0.0f, rotate_half, L.bq));
      LLMKIT_RETURN_IF_ERROR(vec(p + "attn_k.bias", kvd, 0.0f, rotate_half, L.bk));
      LLMKIT_RETURN_IF_ERROR(vec(p + "attn_v.bias", kvd, 0.0f, false, L.bv));
    }
    if (desc->find(p + "attn_q_norm.weight")) {
      if (!arch.allow_qk_norm)
        return bad("tensor '" + p + "attn_q_norm.weight' is unexpected for architecture " +
                   arch.name);
      LLMKIT_RETURN_IF_ERROR(vec(p + "attn_q_norm.weight", hd, norm_offset, rotate_half, L.q_norm));
      LLMKIT_RETURN_IF_ERROR(vec(p + "attn_k_norm.weight", hd, norm_offset, rotate_half, L.k_norm));
    } else if (arch.allow_qk_norm && arch.name != "qwen2") {
      return bad("tensor '" + p + "attn_q_norm.weight' is missing (architecture " + arch.name +
                 " uses QK norm)");
    }
    if (arch.post_norms) {
      LLMKIT_RETURN_IF_ERROR(
          vec(p + "post_attention_norm.weight", E, norm_offset, false, L.post_attn_norm));
      LLMKIT_RETURN_IF_ERROR(
          vec(p + "post_ffw_norm.weight", E, norm_offset, false, L.post_ffn_norm));
    }
    if (arch.sliding_window_layers && hp.sliding_window > 0 && hp.sliding_window_pattern > 0)
      L.sliding = (il + 1) % hp.sliding_window_pattern != 0;
    else if (arch.name == "mistral" && hp.sliding_window > 0)
      L.sliding = true;
  }
  LLMKIT_RETURN_IF_ERROR(vec("output_norm.weight", E, norm_offset, false, d->output_norm_));

  if (progress && !progress(1.0f))
    return Status(StatusCode::kCancelled, where + "load cancelled by the progress callback");
  d->inv_freq_global_ = inverse_frequencies(hp.head_dim, hp.rope_theta, hp, true);
  const float local_base = hp.rope_theta_local > 0 ? hp.rope_theta_local : hp.rope_theta;
  // Gemma 3 applies rope scaling only to the global layers.
  d->inv_freq_local_ =
      inverse_frequencies(hp.head_dim, local_base, hp, !arch.sliding_window_layers);
  const float qscale =
      hp.query_pre_attn_scalar > 0 ? hp.query_pre_attn_scalar : static_cast<float>(hp.head_dim);
  d->attn_scale_ = 1.0f / std::sqrt(qscale);
  d->embed_scale_ = arch.embed_scale_sqrt_dim ? std::sqrt(static_cast<float>(hp.n_embd)) : 1.0f;
  return d;
}

uint64_t Decoder::weight_bytes_per_token() const noexcept {
  uint64_t n = output_.weight_bytes();
  for (const auto& L : layers_)
    for (const ops::PackedLinear* w :
         {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.gate, &L.up, &L.gate_up, &L.down})
      n += w->weight_bytes();
  return n;
}

std::vector<uint32_t> Decoder::kv_windows() const {
  std::vector<uint32_t> w(layers_.size(), 0);
  for (size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].sliding && hp_.sliding_window > 0) w[l] = hp_.sliding_window;
  return w;
}

Status Decoder::prepare_scratch(Scratch& s, int32_t max_tokens, uint32_t n_ctx,
                                int n_threads) const {
  const int64_t M = std::max<int32_t>(1, max_tokens);
  const int64_t E = hp_.n_embd, qd = int64_t(hp_.n_head) * hp_.head_dim, kvd = kv_dim(),
                F = hp_.n_ff;
  try {
    s.x.assign(M * E, 0.0f);
    s.h.assign(M * E, 0.0f);
    s.o.assign(M * E, 0.0f);
    s.q.assign(M * qd, 0.0f);
    s.att.assign(M * qd, 0.0f);
    s.k.assign(M * kvd, 0.0f);
    s.v.assign(M * kvd, 0.0f);
    s.gate.assign(M * F, 0.0f);
    bool any_qkv = false, any_gate_up = false;
    for (const LayerWeights& L : layers_) {
      any_qkv |= L.wqkv.n_out() > 0;
      any_gate_up |= L.gate_up.n_out() > 0;
    }
    s.qkv.assign(any_qkv ? M * (qd + 2 * kvd) : 0, 0.0f);
    s.gate_up.assign(any_gate_up ? M * 2 * F : 0, 0.0f);
    bool all_gate_up = !layers_.empty();
    for (const LayerWeights& L : layers_) all_gate_up &= L.gate_up.n_out() > 0;
    s.up.assign(all_gate_up ? 0 : M * F, 0.0f);   // only the unfused path writes it
    s.head_buf.assign(2ull * n_ctx * kvd, 0.0f);  // converted K and V rows of one layer
    s.rope_cs.assign(size_t(M) * 2 * hp_.head_dim, 0.0f);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "session scratch: allocation failed");
  }
  s.capacity = static_cast<int32_t>(M);
  return Status::ok();
}

void Decoder::rope_table(int32_t pos, bool local, float* cs) const {
  const std::vector<float>& inv = local ? inv_freq_local_ : inv_freq_global_;
  const float p = static_cast<float>(pos);
  for (size_t j = 0; j < inv.size(); ++j) {
    // f32 angle like llama.cpp and transformers, so long positions round the same way.
    const float theta = p * inv[j];
    cs[2 * j] = std::cos(theta);
    cs[2 * j + 1] = std::sin(theta);
  }
}

void Decoder::rope(float* x, int32_t n_heads, const float* cs) const {
  const int64_t hd = hp_.head_dim;
  for (int64_t j = 0; j < hd / 2; ++j) {
    const float c = cs[2 * j], sn = cs[2 * j + 1];
    for (int32_t h = 0; h < n_heads; ++h) {
      float* v = x + h * hd + 2 * j;
      const float x0 = v[0], x1 = v[1];
      v[0] = x0 * c - x1 * sn;
      v[1] = x0 * sn + x1 * c;
    }
  }
}

Status Decoder::forward(const ForwardRequest& req, runtime::KvCache& cache, Scratch& s,
                        ops::ThreadPool& pool) const {
  const int64_t M = req.n_tokens;
  if (M <= 0) return Status(StatusCode::kInvalidArgument, "forward: no tokens");
  if (M > s.capacity)
    return Status(StatusCode::kInternal, "forward: batch larger than the scratch");
  if (req.pos0 < 0 || static_cast<uint64_t>(req.pos0) + M > cache.n_ctx())
    return Status(StatusCode::kOutOfRange, "forward: positions past the context");
  if (!cache.window_history_intact(static_cast<uint32_t>(req.pos0)))
    return Status(StatusCode::kInternal, "forward: sliding-window KV rows were overwritten");
  const int64_t E = hp_.n_embd, H = hp_.n_head, Hkv = hp_.n_head_kv, hd = hp_.head_dim;
  const int64_t qd = H * hd, kvd = Hkv * hd, F = hp_.n_ff;
  const float eps = hp_.norm_eps;

  for (int64_t i = 0; i < M; ++i) {
    const int32_t tok = req.tokens[i];
    if (tok < 0 || static_cast<uint32_t>(tok) >= hp_.n_vocab)
      return Status(StatusCode::kInvalidArgument,
                    "token id " + std::to_string(tok) + " at index " + std::to_string(i) +
                        " is outside the vocabulary (n_vocab " + std::to_string(hp_.n_vocab) + ")");
    LLMKIT_RETURN_IF_ERROR(ops::embedding_row(embd_->type, embd_->data, tok, E, &s.x[i * E]));
    if (embed_scale_ != 1.0f)
      for (int64_t c = 0; c < E; ++c) s.x[i * E + c] *= embed_scale_;
  }
  if (backend_ == ops::Backend::kFast) {
    // The fast backend reads nothing else of the mapped embedding table (a tied output has its
    // own packed copy): give back what the rows' faults mapped (up to a 2 MiB folio per row).
    // One madvise per run of adjacent 2 MiB blocks, not per row (a 512-token prompt reads rows
    // from most blocks of the table; per-row calls cost ~2 % of a Qwen-0.5B-shape prefill).
    constexpr uintptr_t kBlock = uintptr_t(2) << 20;
    const uint64_t rb = ops::row_bytes(embd_->type, E);
    const uintptr_t table = reinterpret_cast<uintptr_t>(embd_->data);
    std::vector<uintptr_t> blocks(static_cast<size_t>(M));
    for (int64_t i = 0; i < M; ++i) blocks[i] = (table + uint64_t(req.tokens[i]) * rb) / kBlock;
    std::sort(blocks.begin(), blocks.end());
    for (size_t i = 0; i < blocks.size();) {
      size_t j = i + 1;
      while (j < blocks.size() && blocks[j] <= blocks[j - 1] + 1) ++j;
      const uintptr_t lo = std::max(table, blocks[i] * kBlock);
      const uintptr_t hi =
          std::min<uintptr_t>(table + embd_->n_bytes, (blocks[j - 1] + 1) * kBlock);
      desc_->release_blocks_around(reinterpret_cast<const uint8_t*>(lo), hi - lo);
      i = j;
    }
  }

  auto norm_rows = [&](const float* in, const std::vector<float>& w, float* out, int64_t rows,
                       int64_t n) {
    pool.parallel_for(
        rows,
        [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) rmsnorm_row(in + r * n, w.data(), out + r * n, n, eps);
        },
        rows >= 8 ? 0 : 1);
  };
  // The residual add that ends a block, fused with what follows it, one pass per row:
  // [o = post_norm(o)], x += o, [h = next_norm(x)] (the per-element float operations of the
  // separate passes, in the same order).
  auto residual = [&](const std::vector<float>& post_norm, const std::vector<float>* next_norm) {
    pool.parallel_for(
        M,
        [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) {
            float* o = &s.o[r * E];
            float* x = &s.x[r * E];
            if (!post_norm.empty()) rmsnorm_row(o, post_norm.data(), o, E, eps);
            for (int64_t c = 0; c < E; ++c) x[c] += o[c];
            if (next_norm) rmsnorm_row(x, next_norm->data(), &s.h[r * E], E, eps);
          }
        },
        M >= 8 ? 0 : 1);
  };

  // cos/sin of every position of the batch, once for all layers: row i holds the global
  // table, then (when the file has a second base) the local one.
  const bool two_bases = inv_freq_local_ != inv_freq_global_;
  pool.parallel_for(
      M,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float* cs = &s.rope_cs[i * 2 * hd];
          const int32_t pos = req.pos0 + static_cast<int32_t>(i);
          rope_table(pos, false, cs);
          if (two_bases) rope_table(pos, true, cs + hd);
        }
      },
      M >= 8 ? 0 : 1);

  cache.note_written(req.pos0 + M - 1);  // before any row is stored (stores run in parallel)
  norm_rows(s.x.data(), layers_[0].attn_norm, s.h.data(), M, E);
  for (uint32_t il = 0; il < hp_.n_layer; ++il) {
    if (req.cancel && req.cancel->load(std::memory_order_relaxed))
      return Status(StatusCode::kCancelled, "cancelled");
    const LayerWeights& L = layers_[il];
    // s.h holds attn_norm(x): the first layer's above, the others' from the residual pass.
    const bool fused_qkv = L.wqkv.n_out() > 0;
    const int64_t n3 = qd + 2 * kvd;
    if (fused_qkv) {
      L.wqkv.forward(s.h.data(), M, s.qkv.data(), pool);
    } else {
      L.wq.forward(s.h.data(), M, s.q.data(), pool);
      L.wk.forward(s.h.data(), M, s.k.data(), pool);
      L.wv.forward(s.h.data(), M, s.v.data(), pool);
    }
    // Per row: split the fused product [q | k | v], add the biases, per-head QK norm and RoPE,
    // then append K/V to the cache.
    pool.parallel_for(
        M,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            float* q = &s.q[i * qd];
            float* k = &s.k[i * kvd];
            float* v = &s.v[i * kvd];
            if (fused_qkv) {
              const float* row = &s.qkv[i * n3];
              std::memcpy(q, row, sizeof(float) * qd);
              std::memcpy(k, row + qd, sizeof(float) * kvd);
              std::memcpy(v, row + qd + kvd, sizeof(float) * kvd);
            }
            if (!L.bq.empty()) {
              for (int64_t c = 0; c < qd; ++c) q[c] += L.bq[c];
              for (int64_t c = 0; c < kvd; ++c) {
                k[c] += L.bk[c];
                v[c] += L.bv[c];
              }
            }
            if (!L.q_norm.empty()) {
              for (int64_t h = 0; h < H; ++h)
                rmsnorm_row(q + h * hd, L.q_norm.data(), q + h * hd, hd, eps);
              for (int64_t h = 0; h < Hkv; ++h)
                rmsnorm_row(k + h * hd, L.k_norm.data(), k + h * hd, hd, eps);
            }
            const int32_t pos = req.pos0 + static_cast<int32_t>(i);
            const float* cs = &s.rope_cs[i * 2 * hd + (L.sliding && two_bases ? hd : 0)];
            rope(q, static_cast<int32_t>(H), cs);
            rope(k, static_cast<int32_t>(Hkv), cs);
            cache.store(il, static_cast<uint32_t>(pos), k, v);
          }
        },
        M >= 4 ? 0 : 1);

    // Attention: K/V rows this batch can see, as f32.
    const int32_t last = req.pos0 + static_cast<int32_t>(M) - 1;
    int32_t first = 0;
    if (L.sliding && hp_.sliding_window > 0)
      first = std::max<int32_t>(0, req.pos0 - int32_t(hp_.sliding_window) + 1);
    const uint32_t n_rows = static_cast<uint32_t>(last - first + 1);
    // Batched prompts take the 16-queries-wide kernel on the fast backend; decode steps and the
    // reference backend use the one-query-at-a-time definition, which reads an f16 cache in
    // place (the batched kernel wants f32 rows: converting them once serves all M queries).
    const bool batched = backend_ == ops::Backend::kFast && M >= 4;
    ops::AttentionArgs att;
    if (!batched && cache.type() == runtime::KvType::kF16) {
      att.k16 = cache.f16_data(false, il);
      att.v16 = cache.f16_data(true, il);
      att.ring = cache.rows(il);
    } else {
      att.k = cache.rows_f32(false, il, first, last + 1, s.head_buf.data());
      att.v = cache.rows_f32(true, il, first, last + 1, s.head_buf.data() + size_t(n_rows) * kvd);
    }
    att.q = s.q.data();
    att.q_stride = qd;
    att.kv_stride = kvd;
    att.n_rows = n_rows;
    att.out = s.att.data();
    att.out_stride = qd;
    att.M = M;
    att.H = H;
    att.Hkv = Hkv;
    att.hd = hd;
    att.pos0 = req.pos0;
    att.first = first;
    att.window = L.sliding && hp_.sliding_window > 0 ? int32_t(hp_.sliding_window) : 0;
    att.scale = attn_scale_;
    // llama.cpp multiplies an f16 cache with q rounded to f16 (and rounds the probabilities to
    // f16 for the V product); doing the same keeps greedy decoding on llama.cpp's path.
    att.round_f16 = cache.type() == runtime::KvType::kF16;
    if (batched)
      ops::attention_batched(att, pool);
    else
      ops::attention_reference(att, pool);

    L.wo.forward(s.att.data(), M, s.o.data(), pool);
    residual(L.post_attn_norm, &L.ffn_norm);  // s.h = ffn_norm(x)
    // GLU of n elements: out = act(g) * u.
    auto glu = [&](const float* g, const float* u, float* out, int64_t n) {
      if (backend_ == ops::Backend::kFast) {
        // Vectorized; GeGLU follows llama.cpp's f16 gelu table (see ops/glu.hpp).
        if (arch_.activation == Activation::kGeluTanh)
          ops::geglu_ggml_fast(g, u, out, n);
        else
          ops::swiglu_fast(g, u, out, n);
      } else if (arch_.activation == Activation::kGeluTanh) {
        for (int64_t c = 0; c < n; ++c) out[c] = gelu_tanh(g[c]) * u[c];
      } else {
        for (int64_t c = 0; c < n; ++c) out[c] = silu(g[c]) * u[c];
      }
    };
    const bool fused_gu = L.gate_up.n_out() > 0;
    if (fused_gu) {
      L.gate_up.forward(s.h.data(), M, s.gate_up.data(), pool);
    } else {
      L.gate.forward(s.h.data(), M, s.gate.data(), pool);
      L.up.forward(s.h.data(), M, s.up.data(), pool);
    }
    // Element c of the [M, F] result is in row c / F; the fused product's rows are [gate | up].
    pool.parallel_for(
        M * F,
        [&](int64_t b, int64_t e) {
          if (!fused_gu) return glu(&s.gate[b], &s.up[b], &s.gate[b], e - b);
          while (b < e) {
            const int64_t i = b / F, j = b % F, n = std::min(e - b, F - j);
            const float* row = &s.gate_up[i * 2 * F];
            glu(row + j, row + F + j, &s.gate[b], n);
            b += n;
          }
        },
        M * F >= 16384 ? 0 : 1, 1024);
    L.down.forward(s.gate.data(), M, s.o.data(), pool);
    // The next layer's attention norm rides along; the last layer's output norm (below) only
    // needs the rows that produce logits.
    residual(L.post_ffn_norm, il + 1 < hp_.n_layer ? &layers_[il + 1].attn_norm : nullptr);
  }
  if (req.cancel && req.cancel->load(std::memory_order_relaxed))
    return Status(StatusCode::kCancelled, "cancelled");

  const int64_t r0 = req.all_logits ? 0 : M - 1;
  const int64_t n_out = M - r0;
  norm_rows(&s.x[r0 * E], output_norm_, &s.h[r0 * E], n_out, E);
  output_.forward(&s.h[r0 * E], n_out, req.logits, pool);
  return Status::ok();
}

}  // namespace llmkit::models
