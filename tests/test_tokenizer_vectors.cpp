// Every llama.cpp vocab vector set in ../shared/fixtures/vocab, run through the public facade
// (Tokenizer::load + encode with no BOS/EOS and special-token text not parsed) with the tokenizer
// fixtures/README.md names for it. The expected ids come from Hugging Face tokenizers.
// Besides the ids, each case checks that the streaming detokenizer reproduces decode().
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "llmkit/tokenizer.hpp"
#include "test_util.hpp"

using namespace llmkit;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Vectors {
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> ids;
};

// NAME.inp: strings each followed by "\n__ggml_vocab_test__\n" (a few sets omit the last one);
// NAME.out: one line of " id id ..." per string.
Vectors load_vectors(const std::string& base) {
  Vectors v;
  const std::string inp = slurp(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (pos < inp.size()) {
    size_t e = inp.find(sep, pos);
    if (e == std::string::npos) {
      v.inputs.push_back(inp.substr(pos));
      break;
    }
    v.inputs.push_back(inp.substr(pos, e - pos));
    pos = e + sep.size();
  }
  std::istringstream out(slurp(base + ".out"));
  std::string line;
  while (std::getline(out, line)) {
    std::vector<int32_t> ids;
    std::istringstream ls(line);
    int64_t x;
    while (ls >> x) ids.push_back(int32_t(x));
    v.ids.push_back(std::move(ids));
  }
  return v;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 24; ++i) s += " " + std::to_string(ids[i]);
  return s + (ids.size() > 24 ? " ..." : "");
}

// Returns the number of failing cases (ids or streaming), logging the first few.
int run_set(const Tokenizer& tok, const std::string& vectors) {
  Vectors v = load_vectors(vectors);
  REQUIRE_MESSAGE(v.inputs.size() == v.ids.size(), vectors << ": .inp/.out case counts differ");
  int failures = 0, shown = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    auto ids = tok.encode(v.inputs[i]);
    bool ok = ids.is_ok() && *ids == v.ids[i];
    if (ok) {
      // Streaming == one-shot decode, with the reference ids.
      auto whole = tok.decode(v.ids[i]);
      StreamingDetokenizer stream(tok);
      std::string streamed;
      for (int32_t id : v.ids[i]) {
        auto piece = stream.push(id);
        ok &= piece.is_ok();
        if (piece.is_ok()) streamed += *piece;
      }
      streamed += stream.flush();
      ok &= whole.is_ok() && streamed == *whole;
    }
    if (!ok) {
      ++failures;
      if (shown++ < 4)
        MESSAGE(vectors << " case " << i << " '" << v.inputs[i].substr(0, 60) << "': got"
                        << (ids.is_ok() ? show(*ids) : " error " + ids.status().to_string())
                        << " want" << show(v.ids[i]));
    }
  }
  MESSAGE(vectors.substr(vectors.rfind('/') + 1)
          << " with " << tok.source().substr(tok.source().rfind('/') + 1) << ": "
          << (v.inputs.size() - size_t(failures)) << "/" << v.inputs.size());
  return failures;
}

struct SetSpec {
  const char* vectors;    // relative to fixtures, without .inp/.out
  const char* tokenizer;  // relative to fixtures
};

void run_table(const std::vector<SetSpec>& table) {
  if (!test::have_fixtures()) {
    MESSAGE("fixtures absent (" << test::fixtures_dir() << "), skipping");
    return;
  }
  for (const SetSpec& s : table) {
    const std::string vectors = s.vectors, tokenizer = s.tokenizer;
    CAPTURE(vectors);
    CAPTURE(tokenizer);
    auto tok = Tokenizer::load(test::fixture(s.tokenizer));
    REQUIRE_MESSAGE(tok.is_ok(), tok.status().to_string());
    CHECK(run_set(**tok, test::fixture(s.vectors)) == 0);
  }
}

}  // namespace

TEST_SUITE("tokenizer_vectors") {
  TEST_CASE("SentencePiece GGUF vocabularies: llama-spm, phi-3") {
    run_table({
        {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf"},
        {"vocab/ggml-vocab-phi-3.gguf", "vocab/ggml-vocab-phi-3.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-llama-spm.gguf",
         "vocab/ggml-vocab-llama-spm.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-phi-3.gguf",
         "vocab/ggml-vocab-phi-3.gguf"},
    });
  }

  TEST_CASE("SentencePiece tokenizer.model: llama2 on the llama-spm vectors") {
    run_table({
        {"vocab/ggml-vocab-llama-spm.gguf", "tokenizers/llama2-tokenizer.model"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-llama-spm.gguf",
         "tokenizers/llama2-tokenizer.model"},
    });
  }

  TEST_CASE("SentencePiece-style tokenizer.json: ortx-phi-3, gemma3 (gemma-4 vectors)") {
    run_table({
        {"vocab/ggml-vocab-phi-3.gguf", "tokenizers/ortx-phi-3/tokenizer.json"},
        {"vocab/more/ggml-vocab-gemma-4.gguf", "tokenizers/hf-gemma3-lenml/tokenizer.json"},
    });
  }

  TEST_CASE("byte-level BPE GGUF vocabularies") {
    run_table({
        {"vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-gpt-2.gguf"},
        {"vocab/ggml-vocab-falcon.gguf", "vocab/ggml-vocab-falcon.gguf"},
        {"vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf"},
        {"vocab/more/ggml-vocab-mpt.gguf", "vocab/more/ggml-vocab-mpt.gguf"},
        {"vocab/more/ggml-vocab-starcoder.gguf", "vocab/more/ggml-vocab-starcoder.gguf"},
        {"vocab/more/ggml-vocab-refact.gguf", "vocab/more/ggml-vocab-refact.gguf"},
        {"vocab/more/ggml-vocab-deepseek-coder.gguf", "vocab/more/ggml-vocab-deepseek-coder.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-gpt-2.gguf",
         "vocab/ggml-vocab-gpt-2.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-falcon.gguf",
         "vocab/ggml-vocab-falcon.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-deepseek-llm.gguf",
         "vocab/ggml-vocab-deepseek-llm.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-mpt.gguf",
         "vocab/more/ggml-vocab-mpt.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-starcoder.gguf",
         "vocab/more/ggml-vocab-starcoder.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-refact.gguf",
         "vocab/more/ggml-vocab-refact.gguf"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-deepseek-coder.gguf",
         "vocab/more/ggml-vocab-deepseek-coder.gguf"},
    });
  }

  TEST_CASE("byte-level BPE tokenizer.json files") {
    run_table({
        {"vocab/ggml-vocab-falcon.gguf", "tokenizers/ortx-falcon-tokenizer/tokenizer.json"},
        {"vocab/ggml-vocab-llama-bpe.gguf", "tokenizers/hf-llama3-lenml/tokenizer.json"},
        {"vocab/ggml-vocab-qwen2.gguf", "tokenizers/hf-qwen3-lenml/tokenizer.json"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-llama-bpe.gguf",
         "tokenizers/hf-llama3-lenml/tokenizer.json"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-qwen2.gguf",
         "tokenizers/hf-qwen3-lenml/tokenizer.json"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-deepseek-r1-qwen.gguf",
         "tokenizers/hf-qwen3-lenml/tokenizer.json"},
        {"vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-roberta-bpe.gguf",
         "tokenizers/ortx-roberta-base/tokenizer.json"},
        {"vocab/more/extra-pr-branches/ggml-vocab-phi-2.gguf",
         "tokenizers/ortx-phi-2/tokenizer.json"},
    });
  }

  // WordPiece (tokenizer.ggml.model = "bert"): llama.cpp's semantics, see src/tokenizer/wpm.hpp.
  TEST_CASE("WordPiece GGUF vocabulary (bert-bge)") {
    run_table({{"vocab/more/ggml-vocab-bert-bge.gguf", "vocab/more/ggml-vocab-bert-bge.gguf"}});
  }

  // Sets the facade cannot run, with the reason; listed so that a new vocabulary shows up here
  // instead of silently vanishing.
  TEST_CASE("vector sets without a runnable tokenizer are accounted for") {
    if (!test::have_fixtures()) return;
    for (const char* missing :
         {"vocab/more/ggml-vocab-command-r.gguf", "vocab/more/ggml-vocab-qwen35.gguf",
          "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-chameleon.gguf",
          "vocab/more/extra-pr-branches/ggml-vocab-tekken.gguf"}) {
      CHECK(test::exists(test::fixture(std::string(missing) + ".inp")));
      CHECK_FALSE(test::exists(test::fixture(missing)));
      MESSAGE("not run: " << std::string(missing)
                          << " (vectors only; the vocabulary is not in the fixtures)");
    }
  }

  // The dbrx vocabulary file repeats the metadata key general.file_type; the GGUF reader (like
  // current llama.cpp) rejects duplicate keys, which must surface as a clear CorruptFile error.
  TEST_CASE("dbrx GGUF vocabulary: vectors, or the duplicate-key error") {
    if (!test::have_fixtures()) return;
    const std::string path = test::fixture("vocab/more/extra-dbrx-2024-05/ggml-vocab-dbrx.gguf");
    auto tok = Tokenizer::load(path);
    if (!tok.is_ok()) {
      MESSAGE("dbrx vocab rejected: " << tok.status().to_string());
      CHECK(tok.status().code() == StatusCode::kCorruptFile);
      CHECK(tok.status().message().find("duplicate key") != std::string::npos);
      return;
    }
    CHECK(run_set(**tok, path) == 0);
  }

  // ortx-llama2/tokenizer.json as shipped has four pieces whose U+00A0 was replaced by a space
  // (fixtures/README.md); Hugging Face refuses to load it, so llmkit must not silently accept it.
  TEST_CASE("ortx-llama2 tokenizer.json: llama-spm vectors or a clear load error") {
    if (!test::have_fixtures()) return;
    auto tok = Tokenizer::load(test::fixture("tokenizers/ortx-llama2/tokenizer.json"));
    if (!tok.is_ok()) {
      MESSAGE("ortx-llama2 rejected as HF rejects it: " << tok.status().to_string());
      CHECK(tok.status().code() == StatusCode::kCorruptFile);
      return;
    }
    CHECK(run_set(**tok, test::fixture("vocab/ggml-vocab-llama-spm.gguf")) == 0);
  }

}  // TEST_SUITE

TEST_SUITE("bigmodel") {
  TEST_CASE("SmolLM2 GGUF: smollm vectors through the facade") {
    const std::string path = test::cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!test::exists(path) || !test::have_fixtures()) {
      MESSAGE("SmolLM2 GGUF or fixtures absent, skipping");
      return;
    }
    auto tok = Tokenizer::load(path);
    REQUIRE_MESSAGE(tok.is_ok(), tok.status().to_string());
    CHECK(run_set(**tok, test::fixture("vocab/more/extra-pr-branches/ggml-vocab-smollm.gguf")) ==
          0);
  }

  // The gemma-4 vectors' ids come from HF's Gemma tokenizer (same vocabulary as Gemma 3): the
  // Gemma 3 GGUF's embedded SentencePiece vocabulary must reproduce them.
  TEST_CASE("Gemma 3 GGUF vocabulary: gemma-4 vectors (HF Gemma tokenizer ids)") {
    const std::string path = test::cached_model("gemma-3-270m-q4_k_m.gguf");
    if (!test::exists(path) || !test::have_fixtures()) {
      MESSAGE("Gemma 3 GGUF or fixtures absent, skipping");
      return;
    }
    auto tok = Tokenizer::load(path);
    REQUIRE_MESSAGE(tok.is_ok(), tok.status().to_string());
    CHECK((*tok)->kind() == "spm");
    CHECK(run_set(**tok, test::fixture("vocab/more/ggml-vocab-gemma-4.gguf")) == 0);
  }

}  // TEST_SUITE
