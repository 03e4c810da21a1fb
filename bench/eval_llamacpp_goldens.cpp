// Teacher-forced evaluation against llama.cpp (tests/golden/llamacpp/<model>.json, written by
// tools/gen_llamacpp_goldens.py): over the golden's ~2,000 tokens of eval_text.txt, the share of
// positions where llmkit's argmax equals llama.cpp's, and both perplexities.
//
//   eval_llamacpp_goldens [--backend fast|reference] [--kv f16|f32] [-t N] MODEL.gguf GOLDEN.json
//
// Results for the cached models are recorded in docs/ACCURACY.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llmkit/model.hpp"
#include "llmkit/session.hpp"

int main(int argc, char** argv) {
  llmkit::ModelOptions mo;
  llmkit::SessionOptions so;
  so.kv_type = llmkit::KvCacheType::kF16;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--backend" && i + 1 < argc) {
      mo.backend = std::string(argv[++i]) == "reference" ? llmkit::Backend::kReference
                                                         : llmkit::Backend::kFast;
    } else if (a == "--kv" && i + 1 < argc) {
      so.kv_type =
          std::string(argv[++i]) == "f32" ? llmkit::KvCacheType::kF32 : llmkit::KvCacheType::kF16;
    } else if (a == "-t" && i + 1 < argc) {
      so.n_threads = std::stoi(argv[++i]);
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 2) {
    std::fprintf(stderr,
                 "usage: %s [--backend fast|reference] [--kv f16|f32] [-t N] MODEL GOLDEN.json\n",
                 argv[0]);
    return 2;
  }
  nlohmann::json g;
  try {
    std::ifstream f(pos[1]);
    g = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s: %s\n", pos[1].c_str(), e.what());
    return 1;
  }
  const auto& tf = g["teacher_forced"];
  const std::vector<int32_t> toks = tf["tokens"].get<std::vector<int32_t>>();
  const std::vector<int32_t> ref_top1 = tf["top1"].get<std::vector<int32_t>>();
  auto model = llmkit::Model::load(pos[0], mo);
  if (!model) {
    std::fprintf(stderr, "error: %s\n", model.status().to_string().c_str());
    return 1;
  }
  so.n_ctx = static_cast<uint32_t>(toks.size() + 8);
  auto session = llmkit::Session::create(*model, so);
  if (!session) {
    std::fprintf(stderr, "error: %s\n", session.status().to_string().c_str());
    return 1;
  }
  const size_t n_vocab = (*model)->info().n_vocab;
  const size_t chunk = 64;  // logits of every position: keep chunk * n_vocab floats at a time
  size_t agree = 0, n_pred = 0;
  double nll = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t off = 0; off < toks.size(); off += chunk) {
    const size_t n = std::min(chunk, toks.size() - off);
    auto all = (*session)->evaluate_all_logits(std::span<const int32_t>(toks.data() + off, n));
    if (!all) {
      std::fprintf(stderr, "error: %s\n", all.status().to_string().c_str());
      return 1;
    }
    for (size_t k = 0; k < n; ++k) {
      const size_t p = off + k;
      const float* row = all->data() + k * n_vocab;
      size_t best = 0;
      float mx = row[0];
      for (size_t v = 1; v < n_vocab; ++v)
        if (row[v] > mx) mx = row[v], best = v;
      if (p < ref_top1.size() && static_cast<int32_t>(best) == ref_top1[p]) ++agree;
      if (p + 1 < toks.size()) {
        double z = 0;
        for (size_t v = 0; v < n_vocab; ++v) z += std::exp(double(row[v]) - mx);
        nll -= double(row[toks[p + 1]]) - mx - std::log(z);
        ++n_pred;
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ppl = std::exp(nll / n_pred);
  const double ref_ppl = tf["perplexity"].get<double>();
  std::printf(
      "{\"model\": \"%s\", \"backend\": \"%s\", \"kv\": \"%s\", \"tokens\": %zu, "
      "\"top1_agreement\": %.4f, "
      "\"perplexity\": %.4f, \"llamacpp_perplexity\": %.4f, \"ppl_rel_diff\": %.4f, \"seconds\": "
      "%.1f}\n",
      pos[0].c_str(), mo.backend == llmkit::Backend::kFast ? "fast" : "reference",
      so.kv_type == llmkit::KvCacheType::kF32 ? "f32" : "f16", toks.size(),
      double(agree) / ref_top1.size(), ppl, ref_ppl, std::fabs(ppl - ref_ppl) / ref_ppl, secs);
  return 0;
}
