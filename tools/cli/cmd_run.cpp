// `llmkit run` (one prompt, streamed answer) and `llmkit chat` (interactive multi-turn chat).
// Only generated text goes to stdout; logs, errors and timings go to stderr.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli.hpp"
#include "llmkit/model.hpp"
#include "llmkit/sampler.hpp"
#include "llmkit/session.hpp"

namespace llmkit::cli {

namespace {

const char* kDefaultQuestion = "What is the capital of France? Answer in one sentence.";

std::atomic<Session*> g_active_session{nullptr};
extern "C" void on_sigint(int) {
  // Session::cancel() is an atomic store: safe in a signal handler.
  if (Session* s = g_active_session.load()) s->cancel();
}

struct CommonOptions {
  std::string model;
  SamplerOptions sampler;
  SessionOptions session;
  ModelOptions model_options;
  int32_t n_predict = 256;
  std::string system;
  bool verbose = false;
};

void print_usage(bool chat) {
  if (chat) {
    std::fprintf(
        stderr,
        "usage: llmkit chat [-m MODEL] [--system TEXT] [options]\n"
        "  Interactive chat in the model's chat format. Reads one user turn per line from stdin\n"
        "  (works under a pipe); '/reset' starts over, '/exit' or EOF quits.\n");
  } else {
    std::fprintf(
        stderr,
        "usage: llmkit run [-m MODEL] [-p PROMPT] [-n N] [--chat] [options]\n"
        "  Streams only the generated text to stdout. Without -p, asks \"%s\" through the\n"
        "  model's chat template. -p '' generates from BOS alone. --chat wraps -p in the chat\n"
        "  template.\n",
        kDefaultQuestion);
  }
  std::fprintf(
      stderr,
      "options:\n"
      "  -m, --model PATH      GGUF file or Hugging Face folder (default: %s)\n"
      "  -n, --n-predict N     max new tokens (default 256; -1: until end of generation)\n"
      "  --temp T              temperature (default 0 = greedy)\n"
      "  --top-k K             (default 40)   --top-p P (default 0.95)   --min-p P (default 0.05)\n"
      "  --repeat-penalty R    (default 1.0)  --repeat-last-n N (default 64)\n"
      "  --seed S              sampling seed (default 0)\n"
      "  --ctx N               context size in tokens (default: min(train ctx, 4096))\n"
      "  -t, --threads N       worker threads (default: all cores)\n"
      "  --kv-type f16|f32|bf16  KV cache precision (default f16)\n"
      "  --backend fast|reference  compute path (default fast)\n"
      "  --system TEXT         system prompt for --chat / chat\n"
      "%s"
      "  -v, --verbose         model info on stderr\n",
      default_model_path().c_str(), kRepackCacheUsage);
}

// Parses the options shared by run and chat; returns an exit code >= 0 on error/help.
int parse_common(Args& args, CommonOptions& o, bool chat) {
  if (args.flag("--help", "-h")) {
    print_usage(chat);
    return 0;
  }
  o.sampler.temperature = 0.0f;
  o.sampler.seed = 0;
  o.model = args.option("--model", "-m").value_or(default_model_path());
  try {
    if (auto v = args.option("--n-predict", "-n")) o.n_predict = std::stoi(*v);
    if (auto v = args.option("--temp")) o.sampler.temperature = std::stof(*v);
    if (auto v = args.option("--top-k")) o.sampler.top_k = std::stoi(*v);
    if (auto v = args.option("--top-p")) o.sampler.top_p = std::stof(*v);
    if (auto v = args.option("--min-p")) o.sampler.min_p = std::stof(*v);
    if (auto v = args.option("--repeat-penalty")) o.sampler.repeat_penalty = std::stof(*v);
    if (auto v = args.option("--repeat-last-n")) o.sampler.penalty_last_n = std::stoi(*v);
    if (auto v = args.option("--seed")) o.sampler.seed = std::stoull(*v);
    if (auto v = args.option("--ctx", "-c"))
      o.session.n_ctx = static_cast<uint32_t>(std::stoul(*v));
    if (auto v = args.option("--threads", "-t")) {
      o.session.n_threads = std::stoi(*v);
      o.model_options.n_threads = o.session.n_threads;
    }
  } catch (const std::exception&) {
    std::fprintf(stderr, "error: bad numeric option value\n");
    return 2;
  }
  if (auto v = args.option("--kv-type")) {
    if (*v == "f16")
      o.session.kv_type = KvCacheType::kF16;
    else if (*v == "f32")
      o.session.kv_type = KvCacheType::kF32;
    else if (*v == "bf16")
      o.session.kv_type = KvCacheType::kBF16;
    else {
      std::fprintf(stderr, "error: --kv-type must be f16, f32 or bf16\n");
      return 2;
    }
  }
  if (auto v = args.option("--backend")) {
    if (*v == "fast")
      o.model_options.backend = Backend::kFast;
    else if (*v == "reference")
      o.model_options.backend = Backend::kReference;
    else {
      std::fprintf(stderr, "error: --backend must be fast or reference\n");
      return 2;
    }
  }
  o.system = args.option("--system").value_or("");
  o.verbose = args.flag("--verbose", "-v");
  o.model_options.repack_cache_dir = repack_cache_option(args);
  return -1;
}

void print_timings(const Timings& t) {
  std::fprintf(stderr,
               "\n[llmkit] load %.0f ms | prompt %d tok (%d reused) %.1f ms, %.1f tok/s | "
               "ttft %.1f ms | decode %d tok %.1f ms, %.1f tok/s\n",
               t.load_ms, t.n_prefill, t.n_reused, t.prefill_ms, t.prefill_tok_per_s(), t.ttft_ms,
               t.n_decode, t.decode_ms, t.decode_tok_per_s());
}

Result<std::shared_ptr<const Model>> load_model(const CommonOptions& o) {
  auto m = Model::load(o.model, o.model_options);
  if (!m) return m.status();
  if (o.verbose) {
    const ModelInfo& i = (*m)->info();
    std::fprintf(stderr,
                 "[llmkit] %s: %s (%s, %s), %u layers, n_embd %u, vocab %u, loaded in %.0f ms\n",
                 o.model.c_str(), i.architecture.c_str(), i.format.c_str(), i.file_type.c_str(),
                 i.n_layer, i.n_embd, i.n_vocab, i.load_ms);
  }
  // A first load writes the cache (a large file): always say so; reuse only when verbose.
  const std::string& note = (*m)->info().repack_cache;
  if (!note.empty() && (o.verbose || note.find("mapped from") == std::string::npos))
    std::fprintf(stderr, "[llmkit] %s\n", note.c_str());
  return m;
}

StreamCallback stdout_stream() {
  return [](std::string_view chunk, int32_t) {
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    std::fflush(stdout);
    return true;
  };
}

int run_run(const std::vector<std::string>& argv) {
  Args args(argv);
  CommonOptions o;
  if (int rc = parse_common(args, o, false); rc >= 0) return rc;
  const std::optional<std::string> prompt = args.option("--prompt", "-p");
  const bool chat = args.flag("--chat");
  if (!args.error().empty()) {
    std::fprintf(stderr, "error: %s\n", args.error().c_str());
    return 2;
  }
  if (std::string u = args.unknown_option(); !u.empty()) {
    std::fprintf(stderr, "error: unknown option %s (see llmkit run --help)\n", u.c_str());
    return 2;
  }
  auto model = load_model(o);
  if (!model) {
    std::fprintf(stderr, "error: %s\n", model.status().to_string().c_str());
    return 1;
  }
  auto session = Session::create(*model, o.session);
  if (!session) {
    std::fprintf(stderr, "error: %s\n", session.status().to_string().c_str());
    return 1;
  }
  auto sampler = Sampler::create(o.sampler);
  if (!sampler) {
    std::fprintf(stderr, "error: %s\n", sampler.status().to_string().c_str());
    return 2;
  }
  GenerateOptions go;
  go.max_new_tokens = o.n_predict;
  g_active_session.store(session->get());
  std::signal(SIGINT, on_sigint);

  Result<GenerationResult> r = Status(StatusCode::kInternal, "not run");
  if (prompt && prompt->empty() && !chat) {
    // Generation from BOS alone.
    const int32_t bos = (*model)->info().bos_token;
    if (bos < 0) {
      std::fprintf(stderr, "error: the model has no BOS token; give a prompt with -p\n");
      return 2;
    }
    std::vector<int32_t> ids{bos};
    r = (*session)->generate(std::span<const int32_t>(ids), *sampler, go, stdout_stream());
  } else {
    std::string text;
    if (!prompt || chat) {
      std::vector<ChatMessage> msgs;
      if (!o.system.empty()) msgs.push_back({"system", o.system});
      msgs.push_back({"user", prompt ? *prompt : std::string(kDefaultQuestion)});
      auto t = (*model)->apply_chat_template(msgs, true);
      if (!t) {
        std::fprintf(stderr, "error: %s\n", t.status().to_string().c_str());
        return 1;
      }
      text = *t;
    } else {
      text = *prompt;
    }
    r = (*session)->generate(std::string_view(text), *sampler, go, stdout_stream());
  }
  g_active_session.store(nullptr);
  if (!r) {
    std::fprintf(stderr, "\nerror: %s\n", r.status().to_string().c_str());
    return 1;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "[llmkit] finish: %s", finish_reason_name(r->finish_reason));
  print_timings(r->timings);
  return 0;
}

int run_chat(const std::vector<std::string>& argv) {
  Args args(argv);
  CommonOptions o;
  if (int rc = parse_common(args, o, true); rc >= 0) return rc;
  if (!args.error().empty()) {
    std::fprintf(stderr, "error: %s\n", args.error().c_str());
    return 2;
  }
  if (std::string u = args.unknown_option(); !u.empty()) {
    std::fprintf(stderr, "error: unknown option %s (see llmkit chat --help)\n", u.c_str());
    return 2;
  }
  auto model = load_model(o);
  if (!model) {
    std::fprintf(stderr, "error: %s\n", model.status().to_string().c_str());
    return 1;
  }
  if (auto f = (*model)->chat_format(); !f) {
    std::fprintf(stderr, "error: %s\n", f.status().to_string().c_str());
    return 1;
  }
  auto session = Session::create(*model, o.session);
  if (!session) {
    std::fprintf(stderr, "error: %s\n", session.status().to_string().c_str());
    return 1;
  }
  auto sampler = Sampler::create(o.sampler);
  if (!sampler) {
    std::fprintf(stderr, "error: %s\n", sampler.status().to_string().c_str());
    return 2;
  }
  GenerateOptions go;
  go.max_new_tokens = o.n_predict;
  std::vector<ChatMessage> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  const bool interactive = isatty(STDIN_FILENO);
  g_active_session.store(session->get());
  std::signal(SIGINT, on_sigint);
  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history.resize(o.system.empty() ? 0 : 1);
      (*session)->reset();
      std::fprintf(stderr, "[llmkit] conversation reset\n");
      continue;
    }
    history.push_back({"user", line});
    auto text = (*model)->apply_chat_template(history, true);
    if (!text) {
      std::fprintf(stderr, "error: %s\n", text.status().to_string().c_str());
      return 1;
    }
    auto r = (*session)->generate(std::string_view(*text), *sampler, go, stdout_stream());
    if (!r) {
      std::fprintf(stderr, "\nerror: %s\n", r.status().to_string().c_str());
      if (r.status().code() == StatusCode::kOutOfRange) {
        std::fprintf(stderr, "[llmkit] the conversation no longer fits the context; type /reset\n");
        history.pop_back();
        continue;
      }
      return 1;
    }
    std::fputc('\n', stdout);
    std::fflush(stdout);
    history.push_back({"assistant", r->text});
    if (o.verbose) print_timings(r->timings);
  }
  g_active_session.store(nullptr);
  return 0;
}

Register reg_run("run", "Generate text from a prompt (streams the answer to stdout)", run_run);
Register reg_chat("chat", "Interactive multi-turn chat in the model's chat format", run_chat);

}  // namespace

}  // namespace llmkit::cli
