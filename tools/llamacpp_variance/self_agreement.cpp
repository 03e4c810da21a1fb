// Teacher-forced top-1 agreement of llama.cpp WITH ITSELF: runs one llama.cpp configuration over
// the token sequence of a golden written by tools/gen_llamacpp_goldens.py and counts the
// positions whose argmax equals the golden's (llama.cpp's default configuration). This measures
// how much llama.cpp's own top-1 moves when only its numerics change (KV cache type, flash
// attention, repacked weights), the yardstick for llmkit's agreement (docs/ACCURACY.md).
//
//   self_agreement MODEL TOKENS.txt TOP1.txt N_BATCH N_THREADS f16|f32 FLASH(0|1)
//   [EXTRA_BUFTS(0|1)]
//
// Prints one line: the configuration and top1_agreement. Built and run by run.sh in this folder.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "llama.h"

static std::vector<int> read_ints(const char* path) {
  std::vector<int> out;
  FILE* f = std::fopen(path, "r");
  if (!f) {
    std::fprintf(stderr, "error: cannot open %s\n", path);
    std::exit(2);
  }
  int v;
  while (std::fscanf(f, "%d", &v) == 1) out.push_back(v);
  std::fclose(f);
  return out;
}

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: %s MODEL TOKENS TOP1 N_BATCH N_THREADS f16|f32 FLASH [EXTRA_BUFTS]\n",
                 argv[0]);
    return 2;
  }
  const std::vector<int> toks = read_ints(argv[2]), ref = read_ints(argv[3]);
  if (toks.empty() || toks.size() != ref.size()) {
    std::fprintf(stderr, "error: %zu tokens but %zu reference ids\n", toks.size(), ref.size());
    return 2;
  }
  const int nb = std::atoi(argv[4]), nt = std::atoi(argv[5]), fa = std::atoi(argv[7]);
  const bool f32 = std::strcmp(argv[6], "f32") == 0;
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  if (argc > 8) mp.use_extra_bufts = std::atoi(argv[8]) != 0;
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "error: cannot load %s\n", argv[1]);
    return 1;
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = uint32_t(toks.size() + 64);
  cp.n_batch = cp.n_ubatch = uint32_t(nb);
  cp.n_threads = cp.n_threads_batch = nt;
  cp.flash_attn_type = fa ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  if (f32) cp.type_k = cp.type_v = GGML_TYPE_F32;
  llama_context* ctx = llama_init_from_model(model, cp);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_batch batch = llama_batch_init(nb, 0, 1);
  size_t agree = 0;
  for (size_t off = 0; off < toks.size(); off += size_t(nb)) {
    const int n = int(std::min<size_t>(size_t(nb), toks.size() - off));
    batch.n_tokens = n;
    for (int i = 0; i < n; ++i) {
      batch.token[i] = toks[off + i];
      batch.pos[i] = llama_pos(off + i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = 1;
    }
    if (llama_decode(ctx, batch) != 0) {
      std::fprintf(stderr, "error: llama_decode failed at %zu\n", off);
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const float* lg = llama_get_logits_ith(ctx, i);
      int best = 0;
      for (int v = 1; v < n_vocab; ++v)
        if (lg[v] > lg[best]) best = v;
      agree += best == ref[off + i];
    }
  }
  std::printf("n_batch=%d threads=%d kv=%s flash_attn=%d extra_bufts=%s top1_agreement=%.4f\n", nb,
              nt, argv[6], fa, argc > 8 ? argv[8] : "default", double(agree) / double(toks.size()));
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
