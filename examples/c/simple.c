/* Minimal llmkit C example: load a model, stream a greedy completion, print the token ids.
 *   simple MODEL.gguf [PROMPT] [MAX_NEW_TOKENS]
 * Build: cc simple.c -I bindings/c -L build -lllmkit */
#include <stdio.h>
#include <stdlib.h>

#include "llmkit.h"

static int on_text(const char* text, size_t len, int32_t token, void* user_data) {
  (void)token, (void)user_data;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 1; /* keep going */
}

int main(int argc, char** argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s MODEL [PROMPT] [MAX_NEW_TOKENS]\n", argv[0]), 2;
  llmkit_model* model = NULL;
  llmkit_session* session = NULL;
  if (llmkit_model_load(argv[1], NULL, &model) != LLMKIT_OK ||
      llmkit_session_create(model, NULL, &session) != LLMKIT_OK) {
    fprintf(stderr, "error: %s\n", llmkit_last_error());
    llmkit_model_free(model);
    return 1;
  }
  llmkit_sampler_params sampler;
  llmkit_sampler_params_init(&sampler);
  sampler.temperature = 0.0f; /* greedy */
  llmkit_generate_params gen;
  llmkit_generate_params_init(&gen);
  gen.max_new_tokens = argc > 3 ? atoi(argv[3]) : 64;
  llmkit_generation_result result = {sizeof result};
  llmkit_status st = llmkit_session_generate_text(session, argc > 2 ? argv[2] : "", &sampler, &gen,
                                                  on_text, NULL, &result);
  if (st == LLMKIT_OK) {
    int32_t ids[4096];
    size_t n = 0;
    llmkit_session_last_tokens(session, ids, sizeof ids / sizeof ids[0], &n);
    fprintf(stderr, "\n[%d tokens, %.1f tok/s] ids:", result.n_tokens,
            result.timings.decode_ms > 0
                ? result.timings.n_decode * 1000.0 / result.timings.decode_ms
                : 0.0);
    for (size_t i = 0; i < n; ++i) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
  } else {
    fprintf(stderr, "error: %s\n", llmkit_last_error());
  }
  llmkit_session_free(session);
  llmkit_model_free(model);
  return st == LLMKIT_OK ? 0 : 1;
}
