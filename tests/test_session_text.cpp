// Text-level generation: chat formats, streaming text, stop strings, TinyStories goldens.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "llmkit/model.hpp"
#include "llmkit/sampler.hpp"
#include "llmkit/session.hpp"
#include "llmkit/tokenizer.hpp"
#include "runtime/chat_format.hpp"
#include "test_util.hpp"

using namespace llmkit;

namespace {

std::unique_ptr<Session> make_session(std::shared_ptr<const Model> m,
                                      KvCacheType kv = KvCacheType::kF32) {
  SessionOptions so;
  so.n_ctx = 512;
  so.n_threads = 2;
  so.kv_type = kv;
  auto s = Session::create(std::move(m), so);
  REQUIRE_MESSAGE(s.is_ok(), s.status().to_string());
  return std::move(s).value();
}

}  // namespace

TEST_CASE("chat formats: detection from real templates and rendering") {
  const std::string smol_tmpl =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
      "'<|im_start|>system\n"
      "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% "
      "endif %}{{'<|im_start|>' + "
      "message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if "
      "add_generation_prompt %}{{ "
      "'<|im_start|>assistant\n' }}{% endif %}";
  auto spec = runtime::detect_chat_format(smol_tmpl, "llama");
  REQUIRE(spec.is_ok());
  CHECK(spec->format == ChatFormat::kChatMl);
  CHECK(spec->default_system ==
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  std::vector<ChatMessage> msgs = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
  auto text = runtime::render_chat(*spec, msgs, true);
  REQUIRE(text.is_ok());
  CHECK(*text ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>"
        "user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n");
  // An explicit system message replaces the default.
  text = runtime::render_chat(*spec, {{"system", "Be brief."}, {"user", "Hi"}}, false);
  CHECK(*text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");

  // Gemma: no template in the GGUF -> the family's format; system text joins the first user turn.
  auto g = runtime::detect_chat_format(std::nullopt, "gemma3");
  REQUIRE(g.is_ok());
  CHECK(g->format == ChatFormat::kGemma);
  text = runtime::render_chat(
      *g, {{"system", "S"}, {"user", "Q"}, {"assistant", "A"}, {"user", "Q2"}}, true);
  CHECK(*text ==
        "<start_of_turn>user\nS\n\nQ<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n"
        "<start_of_turn>user\nQ2<end_of_turn>\n<start_of_turn>model\n");

  auto l3 = runtime::detect_chat_format(
      std::string("{{ '<|start_header_id|>' + message['role'] }}"), "llama");
  REQUIRE(l3.is_ok());
  CHECK(l3->format == ChatFormat::kLlama3);
  text = runtime::render_chat(*l3, {{"user", "Q"}}, true);
  CHECK(*text ==
        "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_"
        "header_id|>\n\n");

  // Unknown templates and roles are clear errors.
  auto bad = runtime::detect_chat_format(
      std::string("{% for m in messages %}### {{ m.content }}{% endfor %}"), "llama");
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().code() == StatusCode::kUnsupported);
  CHECK(bad.status().message().find("fnv1a") != std::string::npos);
  CHECK(bad.status().message().find("### ") != std::string::npos);
  CHECK(!runtime::detect_chat_format(std::nullopt, "llama").is_ok());
  CHECK(!runtime::render_chat(*spec, {{"tool", "x"}}, true).is_ok());
}

TEST_CASE(
    "TinyStories-656K Q8_0: greedy text matches llama.cpp; streaming chunks concatenate to the "
    "text") {
  const std::string path = test::fixture("models/TinyStories-656K-Q8_0.gguf");
  const std::string golden = test::fixture("golden/TinyStories-656K-Q8_0-greedy.json");
  if (!test::exists(path) || !test::exists(golden)) return;
  std::ifstream f(golden);
  auto g = nlohmann::json::parse(f);
  // The golden tokens come from an fp64 pass over the dequantized weights: the reference path.
  ModelOptions mo;
  mo.backend = Backend::kReference;
  auto m = Model::load(path, mo);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  REQUIRE((*m)->tokenizer() != nullptr);
  auto s = make_session(*m);
  REQUIRE(g.contains("cases"));
  for (const auto& c : g["cases"]) {
    const std::string prompt = c["prompt"];
    Sampler greedy(SamplerOptions::greedy());
    GenerateOptions go;
    go.max_new_tokens = c["max_new_tokens"].get<int32_t>();
    go.stop_at_end_of_generation = false;
    std::string streamed;
    s->reset();
    auto r =
        s->generate(std::string_view(prompt), greedy, go, [&](std::string_view chunk, int32_t) {
          streamed += chunk;
          return true;
        });
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    CHECK(streamed == r->text);
    if (c.contains("prompt_tokens")) {
      std::vector<int32_t> expect_prompt = c["prompt_tokens"].get<std::vector<int32_t>>();
      CHECK(std::vector<int32_t>(s->tokens().begin(), s->tokens().begin() + expect_prompt.size()) ==
            expect_prompt);
    }
    if (c.contains("generated_tokens_reference"))
      CHECK(r->tokens == c["generated_tokens_reference"].get<std::vector<int32_t>>());
    CHECK(r->text == c["expected_text_llama_cpp"].get<std::string>());
  }
}

TEST_CASE("stop strings end generation before the string; the callback never sees it") {
  const std::string path = test::fixture("models/TinyStories-656K-Q8_0.gguf");
  if (!test::exists(path)) return;
  auto m = Model::load(path);
  REQUIRE(m.is_ok());
  auto s = make_session(*m);
  Sampler greedy(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = 32;
  go.stop_at_end_of_generation = false;
  auto full = s->generate(std::string_view("Once upon a time"), greedy, go);
  REQUIRE(full.is_ok());
  REQUIRE(full->text.size() > 20);
  // Stop at a word from the middle of the greedy text.
  const size_t cut = full->text.find(' ', full->text.size() / 2);
  REQUIRE(cut != std::string::npos);
  const size_t end = full->text.find(' ', cut + 1);
  const std::string stop =
      full->text.substr(cut, (end == std::string::npos ? full->text.size() : end) - cut);
  go.stop_strings = {stop};
  std::string streamed;
  s->reset();
  auto r = s->generate(std::string_view("Once upon a time"), greedy, go,
                       [&](std::string_view chunk, int32_t) {
                         streamed += chunk;
                         return true;
                       });
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kStopString);
  CHECK(r->text == full->text.substr(0, full->text.find(stop)));
  CHECK(streamed == r->text);
}
