// `llmkit bench -m MODEL [-p 512] [-n 128] [-t 1,2] [-r 5] [-o text|json|csv]`
//
// Measures the same things as llama.cpp's `llama-bench`, with the same meaning, so bench/compare
// can put the two side by side:
//   pp<N>  prompt processing: N token ids evaluated in ONE batch into an empty context; tok/s = N /
//   t. tg<N>  text generation: N single-token forward passes starting from an empty context; tok/s
//   = N / t.
// Token ids are pseudo-random (fixed seed), as in llama-bench: speed does not depend on them.
// Each test gets one untimed warm-up run, then -r timed repetitions on the same session (the KV
// cache is reset between runs). Reported per test: mean and stddev (llama-bench's avg_ts and
// stddev_ts), median, min and max of tok/s.
//
// Extra, per thread count:
//   load_ms   wall time of Model::load (file mapping, parsing, weight packing).
//   ttft_ms   time to first token: start of Model::load -> session created -> a --ttft-prompt token
//             prompt evaluated -> first token picked (argmax). What a user waits for from a cold
//             process with a warm page cache.
//   peak_rss  getrusage(RUSAGE_SELF).ru_maxrss after the tests of that thread count (a
//             process-wide high-water mark, so it includes earlier thread counts too).
// And the decode roofline: bytes of weights read per generated token (every tensor except the
// token embedding table, of which one row is read; a tied output matrix counts in full) ÷ read
// bandwidth measured by a 1 GiB sum with the same thread count, in this run
// (tools/cli/bandwidth.hpp, in a forked child so it does not inflate peak RSS). Printed as achieved
// GB/s = tg tok/s × bytes/token, and as % of the probe's bandwidth.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "bandwidth.hpp"
#include "cli.hpp"
#include "io/ggml_types.hpp"
#include "io/gguf.hpp"
#include "llmkit/model.hpp"
#include "llmkit/session.hpp"

namespace llmkit::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

bool parse_int_list(const std::string& s, std::vector<int>& out, int min_value) {
  out.clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < min_value) return false;
      out.push_back(v);
    } catch (...) {
      return false;
    }
  }
  return !out.empty();
}

struct Stats {
  double mean = 0, stddev = 0, median = 0, min = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  // Sample standard deviation, as llama-bench reports it.
  s.stddev = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

// Bytes of weights one decode step reads, from the GGUF tensor table: everything except the token
// embedding, of which one row is read; with tied embeddings (no output.weight) the output
// projection reads the whole table. 0 when PATH is not a GGUF file.
uint64_t weight_bytes_per_token(const std::string& path, uint64_t* file_weight_bytes,
                                std::string* main_type) {
  *file_weight_bytes = 0;
  auto f = io::GgufFile::open(path);
  if (!f.is_ok()) return 0;
  const io::GgufFile& g = **f;
  uint64_t total = 0;
  bool has_output = false;
  const io::GgufTensorInfo* embd = nullptr;
  std::vector<std::pair<uint64_t, uint32_t>> by_type;  // bytes of matrices per tensor type
  for (const auto& t : g.tensors()) {
    *file_weight_bytes += t.n_bytes;
    if (t.dims.size() >= 2) {
      auto it =
          std::find_if(by_type.begin(), by_type.end(), [&](auto& e) { return e.second == t.type; });
      if (it == by_type.end())
        by_type.push_back({t.n_bytes, t.type});
      else
        it->first += t.n_bytes;
    }
    if (t.name == "token_embd.weight") {
      embd = &t;
      continue;
    }
    if (t.name == "output.weight") has_output = true;
    total += t.n_bytes;
  }
  if (embd) {
    const uint64_t rows = embd->dims.size() >= 2 ? embd->dims[1] : 1;
    total += rows ? embd->n_bytes / rows : 0;
    if (!has_output) total += embd->n_bytes;
  }
  // The type holding most matrix bytes names the file when it has no general.file_type.
  if (!by_type.empty())
    *main_type = io::type_name(std::max_element(by_type.begin(), by_type.end())->second);
  return total;
}

struct Record {
  std::string test;  // "pp512" / "tg128"
  int n_prompt = 0, n_gen = 0, n_threads = 0;
  std::vector<double> samples_ns, samples_ts;
  Stats ts;
  double load_ms = 0, ttft_ms = 0;
  uint64_t peak_rss = 0;
  double probe_gbs = 0, achieved_gbs = 0, roof_pct = 0;
};

uint64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

// Deterministic pseudo-random token ids in [0, n_vocab).
std::vector<int32_t> make_tokens(size_t n, uint32_t n_vocab, uint64_t seed) {
  std::vector<int32_t> out(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& t : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t = static_cast<int32_t>(x % std::max<uint32_t>(1, n_vocab));
  }
  return out;
}

const char* usage_text =
    "usage: llmkit bench [-m MODEL] [-p 512] [-n 128] [-t 1,2] [-r 5] [-o text|json|csv]\n"
    "                    [-c 2048] [--ttft-prompt 16] [--backend fast|reference] [--no-probe]\n"
    "                    [--no-warmup] [--repack-cache DIR | --no-repack-cache]\n"
    "  -m, --model PATH      GGUF file or HF folder (default: the setup script's model)\n"
    "  -p, --n-prompt N,...  prompt-processing tests: N tokens in one batch (0: none)\n"
    "  -n, --n-gen N,...     text-generation tests: N tokens one by one (0: none)\n"
    "  -t, --threads T,...   thread counts (each gets its own load, session and probe)\n"
    "  -r, --repetitions R   timed runs per test (after one warm-up)\n"
    "  -o, --output FMT      text (default), json (llama-bench-style records) or csv\n"
    "  -c, --ctx N           session context (default 2048, at least prompt + gen)\n"
    "  --ttft-prompt N       prompt length for the time-to-first-token measurement\n"
    "  --no-probe            skip the read-bandwidth probe (no roofline)\n";
// kRepackCacheUsage follows usage_text in the help.

struct Options {
  std::string model;
  std::vector<int> n_prompt{512}, n_gen{128}, threads{2};
  int reps = 5;
  std::string output = "text";
  int ctx = 2048;
  int ttft_prompt = 16;
  Backend backend = Backend::kFast;
  bool probe = true;
  bool warmup = true;
  std::string repack_cache_dir;
};

int parse_options(const std::vector<std::string>& argv, Options& o) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::fprintf(stderr, "%s%s", usage_text, kRepackCacheUsage);
    return 0;
  }
  o.repack_cache_dir = repack_cache_option(args);
  o.probe = !args.flag("--no-probe");
  o.warmup = !args.flag("--no-warmup");
  auto bad = [](const std::string& what, const std::string& v) {
    std::fprintf(stderr, "llmkit bench: bad value for %s: '%s'\n%s", what.c_str(), v.c_str(),
                 usage_text);
    return 2;
  };
  o.model = default_model_path();
  if (auto v = args.option("--model", "-m")) o.model = *v;
  if (auto v = args.option("--n-prompt", "-p"); v && !parse_int_list(*v, o.n_prompt, 0))
    return bad("-p", *v);
  if (auto v = args.option("--n-gen", "-n"); v && !parse_int_list(*v, o.n_gen, 0))
    return bad("-n", *v);
  if (auto v = args.option("--threads", "-t"); v && !parse_int_list(*v, o.threads, 1))
    return bad("-t", *v);
  std::vector<int> one;
  if (auto v = args.option("--repetitions", "-r")) {
    if (!parse_int_list(*v, one, 1) || one.size() != 1) return bad("-r", *v);
    o.reps = one[0];
  }
  if (auto v = args.option("--ctx", "-c")) {
    if (!parse_int_list(*v, one, 1) || one.size() != 1) return bad("-c", *v);
    o.ctx = one[0];
  }
  if (auto v = args.option("--ttft-prompt")) {
    if (!parse_int_list(*v, one, 1) || one.size() != 1) return bad("--ttft-prompt", *v);
    o.ttft_prompt = one[0];
  }
  if (auto v = args.option("--output", "-o")) {
    if (*v != "text" && *v != "json" && *v != "csv") return bad("-o", *v);
    o.output = *v;
  }
  if (auto v = args.option("--backend")) {
    if (*v == "fast")
      o.backend = Backend::kFast;
    else if (*v == "reference")
      o.backend = Backend::kReference;
    else
      return bad("--backend", *v);
  }
  if (!args.error().empty()) {
    std::fprintf(stderr, "llmkit bench: %s\n", args.error().c_str());
    return 2;
  }
  if (auto u = args.unknown_option(); !u.empty()) {
    std::fprintf(stderr, "llmkit bench: unknown option %s\n%s", u.c_str(), usage_text);
    return 2;
  }
  if (!args.rest().empty()) {
    std::fprintf(stderr, "llmkit bench: unexpected argument '%s' (the model goes after -m)\n",
                 args.rest()[0].c_str());
    return 2;
  }
  int need = o.ttft_prompt + 1;
  for (int p : o.n_prompt) need = std::max(need, p + 1);
  for (int n : o.n_gen) need = std::max(need, n + 1);
  o.ctx = std::max(o.ctx, need);
  return -1;  // continue
}

std::string human_size(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else
    std::snprintf(buf, sizeof buf, "%.2f MiB", b / double(1ull << 20));
  return buf;
}

std::string human_params(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull)
    std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  return buf;
}

int run_bench(const std::vector<std::string>& argv) {
  Options o;
  if (int rc = parse_options(argv, o); rc >= 0) return rc;

  // The probe forks: run it before anything starts threads (Model::load may).
  std::vector<double> probe_gbs(o.threads.size(), 0.0);
  if (o.probe) {
    for (size_t i = 0; i < o.threads.size(); ++i) {
      probe_gbs[i] = measure_read_bandwidth(o.threads[i]);
      std::fprintf(stderr, "llmkit bench: read bandwidth with %d thread(s): %.1f GB/s\n",
                   o.threads[i], probe_gbs[i]);
    }
  }
  uint64_t file_bytes = 0;
  std::string main_type;
  const uint64_t bytes_per_token = weight_bytes_per_token(o.model, &file_bytes, &main_type);

  std::vector<Record> records;
  ModelInfo info;
  for (size_t ti = 0; ti < o.threads.size(); ++ti) {
    const int nt = o.threads[ti];
    ModelOptions mo;
    mo.backend = o.backend;
    mo.n_threads = nt;
    mo.repack_cache_dir = o.repack_cache_dir;
    const auto t_load = Clock::now();
    auto model = Model::load(o.model, mo);
    if (!model.is_ok()) {
      std::fprintf(stderr, "llmkit bench: %s\n", model.status().to_string().c_str());
      return 1;
    }
    const double load_ms = ms_since(t_load);
    info = (*model)->info();
    if (!info.repack_cache.empty())
      std::fprintf(stderr, "llmkit bench: %s\n", info.repack_cache.c_str());
    SessionOptions so;
    so.n_ctx = static_cast<uint32_t>(o.ctx);
    so.n_threads = nt;
    int max_prompt = o.ttft_prompt;
    for (int p : o.n_prompt) max_prompt = std::max(max_prompt, p);
    so.n_batch =
        static_cast<uint32_t>(max_prompt);  // one batch per prompt, like llama-bench -b 2048
    auto session = Session::create(*model, so);
    if (!session.is_ok()) {
      std::fprintf(stderr, "llmkit bench: %s\n", session.status().to_string().c_str());
      return 1;
    }
    Session& s = **session;
    const auto ttft_tokens = make_tokens(static_cast<size_t>(o.ttft_prompt), info.n_vocab, 7);
    if (Status st = s.evaluate(ttft_tokens); !st.is_ok()) {
      std::fprintf(stderr, "llmkit bench: %s\n", st.to_string().c_str());
      return 1;
    }
    {
      auto lg = s.logits();
      volatile auto first = std::max_element(lg.begin(), lg.end()) - lg.begin();
      (void)first;
    }
    const double ttft_ms = ms_since(t_load);

    auto run_pp = [&](int n, uint64_t seed) -> Result<double> {
      const auto toks = make_tokens(static_cast<size_t>(n), info.n_vocab, seed);
      s.reset();
      const auto t0 = Clock::now();
      LLMKIT_RETURN_IF_ERROR(s.evaluate(toks));
      return ms_since(t0) * 1e6;  // ns
    };
    auto run_tg = [&](int n, uint64_t seed) -> Result<double> {
      const auto toks = make_tokens(static_cast<size_t>(n), info.n_vocab, seed);
      s.reset();
      const auto t0 = Clock::now();
      for (int i = 0; i < n; ++i)
        LLMKIT_RETURN_IF_ERROR(s.evaluate(std::span(&toks[static_cast<size_t>(i)], 1)));
      return ms_since(t0) * 1e6;  // ns
    };
    auto one_test = [&](bool pp, int n) -> int {
      Record r;
      r.test = (pp ? "pp" : "tg") + std::to_string(n);
      r.n_prompt = pp ? n : 0;
      r.n_gen = pp ? 0 : n;
      r.n_threads = nt;
      r.load_ms = load_ms;
      r.ttft_ms = ttft_ms;
      if (o.warmup) {  // untimed: first-touch of scratch buffers, caches, thread start-up
        auto w = pp ? run_pp(n, 99) : run_tg(std::min(n, 4), 99);
        if (!w.is_ok()) {
          std::fprintf(stderr, "llmkit bench: %s\n", w.status().to_string().c_str());
          return 1;
        }
      }
      for (int rep = 0; rep < o.reps; ++rep) {
        auto ns = pp ? run_pp(n, 1000 + static_cast<uint64_t>(rep))
                     : run_tg(n, 2000 + static_cast<uint64_t>(rep));
        if (!ns.is_ok()) {
          std::fprintf(stderr, "llmkit bench: %s\n", ns.status().to_string().c_str());
          return 1;
        }
        r.samples_ns.push_back(*ns);
        r.samples_ts.push_back(*ns > 0 ? n * 1e9 / *ns : 0.0);
      }
      r.ts = stats_of(r.samples_ts);
      r.peak_rss = peak_rss_bytes();
      if (!pp && bytes_per_token > 0) {
        r.achieved_gbs = r.ts.median * static_cast<double>(bytes_per_token) / 1e9;
        r.probe_gbs = probe_gbs[ti];
        r.roof_pct = r.probe_gbs > 0 ? 100.0 * r.achieved_gbs / r.probe_gbs : 0.0;
      } else if (bytes_per_token > 0) {
        r.probe_gbs = probe_gbs[ti];
      }
      records.push_back(std::move(r));
      return 0;
    };
    for (int p : o.n_prompt)
      if (p > 0 && one_test(true, p) != 0) return 1;
    for (int n : o.n_gen)
      if (n > 0 && one_test(false, n) != 0) return 1;
    if (o.n_prompt == std::vector<int>{0} && o.n_gen == std::vector<int>{0}) {
      // Only load / TTFT / RSS wanted: still emit one record so scripts get the numbers.
      Record r;
      r.test = "load";
      r.n_threads = nt;
      r.load_ms = load_ms;
      r.ttft_ms = ttft_ms;
      r.peak_rss = peak_rss_bytes();
      r.probe_gbs = probe_gbs[ti];
      records.push_back(std::move(r));
    }
  }

  const std::string model_filename = o.model;
  const std::string model_type =
      info.architecture + " " + (info.file_type.empty() ? main_type : info.file_type);
  const char* backend = o.backend == Backend::kFast ? "llmkit-fast" : "llmkit-reference";

  if (o.output == "json") {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& r : records) {
      nlohmann::ordered_json j;
      j["build_commit"] = "";
      j["model_filename"] = model_filename;
      j["model_type"] = model_type;
      j["model_size"] = file_bytes;
      j["model_n_params"] = info.n_params;
      j["backend"] = backend;
      j["n_threads"] = r.n_threads;
      j["n_ctx"] = o.ctx;
      j["n_prompt"] = r.n_prompt;
      j["n_gen"] = r.n_gen;
      j["test"] = r.test;
      j["avg_ns"] = r.samples_ns.empty()
                        ? 0.0
                        : std::accumulate(r.samples_ns.begin(), r.samples_ns.end(), 0.0) /
                              static_cast<double>(r.samples_ns.size());
      j["avg_ts"] = r.ts.mean;
      j["stddev_ts"] = r.ts.stddev;
      j["median_ts"] = r.ts.median;
      j["min_ts"] = r.ts.min;
      j["max_ts"] = r.ts.max;
      j["samples_ns"] = r.samples_ns;
      j["samples_ts"] = r.samples_ts;
      j["load_ms"] = r.load_ms;
      j["ttft_ms"] = r.ttft_ms;
      j["ttft_prompt"] = o.ttft_prompt;
      j["peak_rss_bytes"] = r.peak_rss;
      j["weight_bytes_per_token"] = bytes_per_token;
      j["probe_read_gbs"] = r.probe_gbs;
      j["achieved_read_gbs"] = r.achieved_gbs;
      j["roofline_pct"] = r.roof_pct;
      arr.push_back(std::move(j));
    }
    std::printf("%s\n", arr.dump(2).c_str());
    return 0;
  }
  if (o.output == "csv") {
    std::printf(
        "model_filename,model_type,backend,n_threads,n_ctx,n_prompt,n_gen,test,avg_ts,stddev_ts,"
        "median_ts,min_ts,max_ts,load_ms,ttft_ms,peak_rss_bytes,weight_bytes_per_token,"
        "probe_read_gbs,achieved_read_gbs,roofline_pct\n");
    for (const auto& r : records)
      std::printf(
          "\"%s\",\"%s\",%s,%d,%d,%d,%d,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.2f,%.2f,%llu,%llu,%.2f,%.2f,%"
          ".1f\n",
          model_filename.c_str(), model_type.c_str(), backend, r.n_threads, o.ctx, r.n_prompt,
          r.n_gen, r.test.c_str(), r.ts.mean, r.ts.stddev, r.ts.median, r.ts.min, r.ts.max,
          r.load_ms, r.ttft_ms, static_cast<unsigned long long>(r.peak_rss),
          static_cast<unsigned long long>(bytes_per_token), r.probe_gbs, r.achieved_gbs,
          r.roof_pct);
    return 0;
  }
  std::printf("model: %s (%s, %s, %s params), backend %s, ctx %d, %d repetitions\n",
              model_filename.c_str(), model_type.c_str(), human_size(file_bytes).c_str(),
              human_params(info.n_params).c_str(), backend, o.ctx, o.reps);
  std::printf("| threads | test   |  t/s median | mean ± stddev      | min .. max        |\n");
  std::printf("|--------:|:-------|------------:|:------------------|:------------------|\n");
  for (const auto& r : records) {
    if (r.test == "load") continue;
    std::printf("| %7d | %-6s | %11.2f | %7.2f ± %-8.2f | %7.2f .. %-7.2f |\n", r.n_threads,
                r.test.c_str(), r.ts.median, r.ts.mean, r.ts.stddev, r.ts.min, r.ts.max);
  }
  std::printf("\n");
  int last_t = -1;
  for (const auto& r : records) {
    if (r.n_threads == last_t) continue;
    last_t = r.n_threads;
    std::printf(
        "threads %d: load %.1f ms, time to first token (%d-token prompt) %.1f ms, peak RSS %s\n",
        r.n_threads, r.load_ms, o.ttft_prompt, r.ttft_ms, human_size(r.peak_rss).c_str());
  }
  if (bytes_per_token > 0) {
    std::printf("\ndecode roofline: %.1f MB of weights read per token (GGUF tensor sizes)\n",
                bytes_per_token / 1e6);
    for (const auto& r : records) {
      if (r.n_gen == 0) continue;
      if (r.probe_gbs > 0)
        std::printf(
            "  threads %d %s: %.2f tok/s x %.1f MB = %.1f GB/s achieved = %.0f%% of %.1f GB/s probe"
            " (roof %.1f tok/s)\n",
            r.n_threads, r.test.c_str(), r.ts.median, bytes_per_token / 1e6, r.achieved_gbs,
            r.roof_pct, r.probe_gbs, r.probe_gbs * 1e9 / static_cast<double>(bytes_per_token));
      else
        std::printf("  threads %d %s: %.2f tok/s x %.1f MB = %.1f GB/s achieved (probe skipped)\n",
                    r.n_threads, r.test.c_str(), r.ts.median, bytes_per_token / 1e6,
                    r.achieved_gbs);
    }
  }
  return 0;
}

Register reg("bench", "Measure prompt/decode speed, load time, TTFT, peak RSS (llama-bench style)",
             run_bench);

}  // namespace
}  // namespace llmkit::cli
