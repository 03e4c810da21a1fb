// Minimal llmkit C++ chat: formats the conversation with the model's chat template and streams
// the reply.   chat MODEL.gguf "What is the capital of France?"
#include <cstdio>
#include <string>
#include <string_view>

#include "llmkit/llmkit.hpp"

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s MODEL [QUESTION]\n", argv[0]), 2;
  auto model = llmkit::Model::load(argv[1]);
  if (!model) return std::fprintf(stderr, "%s\n", model.status().to_string().c_str()), 1;
  auto session = llmkit::Session::create(*model);
  if (!session) return std::fprintf(stderr, "%s\n", session.status().to_string().c_str()), 1;
  std::vector<llmkit::ChatMessage> chat = {{"user", argc > 2 ? argv[2] : "Tell me a short story."}};
  auto prompt = (*model)->apply_chat_template(chat);
  if (!prompt) return std::fprintf(stderr, "%s\n", prompt.status().to_string().c_str()), 1;
  llmkit::Sampler sampler(llmkit::SamplerOptions::greedy());
  llmkit::GenerateOptions opts;
  opts.max_new_tokens = 64;
  auto r = (*session)->generate(*prompt, sampler, opts, [](std::string_view chunk, int32_t) {
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!r) return std::fprintf(stderr, "\n%s\n", r.status().to_string().c_str()), 1;
  std::printf("\n[%d tokens, %.1f tok/s, %s]\n", r->timings.n_decode, r->timings.decode_tok_per_s(),
              llmkit::finish_reason_name(r->finish_reason));
  return 0;
}
