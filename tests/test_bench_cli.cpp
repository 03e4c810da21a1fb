// Smoke test of `llmkit bench` (issue 5's measurement tool): runs the real CLI binary on the real
// stories260K fixture and checks the llama-bench-style JSON records it prints. Speed numbers are
// not asserted (CI machines are noisy), only their presence, units and consistency.
//
// The CLI is looked up next to the test binary's build dir (BUILD/tests/llmkit_tests ->
// BUILD/llmkit) or in $LLMKIT_CLI. When it has not been built (a build of the llmkit_tests target
// alone) the test says so and skips.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.hpp"

namespace {

std::string find_cli() {
  if (const char* e = std::getenv("LLMKIT_CLI")) return e;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (auto dir = self.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    const auto cand = dir / "llmkit";
    if (std::filesystem::is_regular_file(cand)) return cand.string();
  }
  return "";
}

// Runs CMD through the shell; returns (exit code, stdout).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST_CASE("llmkit bench -o json prints llama-bench-style records") {
  const std::string cli = find_cli();
  if (cli.empty()) {
    MESSAGE(
        "skipped: the llmkit CLI is not built next to the tests (build target llmkit_cli or set "
        "LLMKIT_CLI)");
    return;
  }
  const std::string model = llmkit::test::fixture("models/stories260K.gguf");
  if (!llmkit::test::exists(model)) {
    MESSAGE("skipped: fixture " << model << " missing");
    return;
  }
  auto [rc, out] =
      run(quote(cli) + " bench -m " + quote(model) + " -p 16 -n 8 -r 1 -o json 2>/dev/null");
  REQUIRE(rc == 0);
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(out));
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);  // pp16 and tg8 with the default single thread count
  const auto& pp = j[0];
  const auto& tg = j[1];
  CHECK(pp["n_prompt"] == 16);
  CHECK(pp["n_gen"] == 0);
  CHECK(tg["n_prompt"] == 0);
  CHECK(tg["n_gen"] == 8);
  for (const auto& r : j) {
    for (const char* key :
         {"n_threads", "avg_ts", "stddev_ts", "median_ts", "load_ms", "ttft_ms", "peak_rss_bytes",
          "samples_ts", "samples_ns", "weight_bytes_per_token", "probe_read_gbs"})
      CHECK_MESSAGE(r.contains(key), key);
    CHECK(r["model_filename"].get<std::string>() == model);
    CHECK(r["model_type"].get<std::string>().find("llama") != std::string::npos);
    CHECK(r["backend"].get<std::string>().rfind("llmkit", 0) == 0);
    CHECK(r["n_threads"].get<int>() >= 1);
    CHECK(r["samples_ts"].size() == 1);
    CHECK(r["avg_ts"].get<double>() > 0.0);
    CHECK(r["median_ts"].get<double>() ==
          doctest::Approx(r["avg_ts"].get<double>()));  // one sample
    CHECK(r["stddev_ts"].get<double>() == 0.0);
    // tok/s and ns agree: n / (ns * 1e-9)
    const double n = r["n_prompt"].get<double>() + r["n_gen"].get<double>();
    CHECK(r["avg_ts"].get<double>() ==
          doctest::Approx(n * 1e9 / r["samples_ns"][0].get<double>()).epsilon(1e-6));
    CHECK(r["load_ms"].get<double>() > 0.0);
    CHECK(r["ttft_ms"].get<double>() >= r["load_ms"].get<double>());
    CHECK(r["peak_rss_bytes"].get<uint64_t>() > 1000000u);  // at least the process image
    // stories260K is ~1.1 MB of F32 weights; one decode step reads all but the embedding table.
    const uint64_t bpt = r["weight_bytes_per_token"].get<uint64_t>();
    CHECK(bpt > 100000u);
    CHECK(bpt <= std::filesystem::file_size(model));
    CHECK(r["probe_read_gbs"].get<double>() > 0.1);
  }
  CHECK(tg["achieved_read_gbs"].get<double>() ==
        doctest::Approx(tg["median_ts"].get<double>() * tg["weight_bytes_per_token"].get<double>() /
                        1e9));
}

TEST_CASE("llmkit bench rejects bad arguments and missing models with an error") {
  const std::string cli = find_cli();
  if (cli.empty()) {
    MESSAGE("skipped: the llmkit CLI is not built next to the tests");
    return;
  }
  CHECK(run(quote(cli) + " bench -p abc 2>/dev/null").first == 2);
  CHECK(run(quote(cli) + " bench -t 0 2>/dev/null").first == 2);
  CHECK(run(quote(cli) + " bench -o xml 2>/dev/null").first == 2);
  CHECK(run(quote(cli) + " bench --bogus 2>/dev/null").first == 2);
  auto [rc, out] = run(quote(cli) + " bench -m /nonexistent/model.gguf --no-probe -o json 2>&1");
  CHECK(rc == 1);
  CHECK(out.find("/nonexistent/model.gguf") != std::string::npos);
}
