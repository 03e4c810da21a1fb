#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli.hpp"
#include "llmkit/version.hpp"

namespace llmkit::cli {

std::vector<Command>& commands() {
  static std::vector<Command> cmds;
  return cmds;
}

namespace {
std::string model_cache_dir() {
  if (const char* e = std::getenv("LLMKIT_MODEL_CACHE")) return e;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/llmkit";
}
}  // namespace

std::string default_model_path() { return model_cache_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"; }

const char* const kRepackCacheUsage =
    "  --repack-cache DIR    cache of repacked weights for fast reloads (default\n"
    "                        $LLMKIT_REPACK_CACHE, else ~/.cache/llmkit/repack)\n"
    "  --no-repack-cache     pack the weights at every load, write no cache\n";

std::string repack_cache_option(Args& args) {
  const bool off = args.flag("--no-repack-cache");
  const auto dir = args.option("--repack-cache");
  if (off) return "";
  if (dir) return *dir;
  if (const char* e = std::getenv("LLMKIT_REPACK_CACHE")) return e;
  return model_cache_dir() + "/repack";
}

bool Args::flag(const std::string& long_name, const std::string& short_name) {
  for (auto it = args_.begin(); it != args_.end(); ++it) {
    if (*it == long_name || (!short_name.empty() && *it == short_name)) {
      args_.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<std::string> Args::option(const std::string& long_name,
                                        const std::string& short_name) {
  for (size_t i = 0; i < args_.size(); ++i) {
    const std::string& a = args_[i];
    if (a.rfind(long_name + "=", 0) == 0) {
      std::string v = a.substr(long_name.size() + 1);
      args_.erase(args_.begin() + static_cast<long>(i));
      return v;
    }
    if (a == long_name || (!short_name.empty() && a == short_name)) {
      if (i + 1 >= args_.size()) {
        error_ = "option " + a + " needs a value";
        args_.erase(args_.begin() + static_cast<long>(i));
        return std::nullopt;
      }
      std::string v = args_[i + 1];
      args_.erase(args_.begin() + static_cast<long>(i), args_.begin() + static_cast<long>(i) + 2);
      return v;
    }
  }
  return std::nullopt;
}

std::string Args::unknown_option() const {
  for (const auto& a : args_)
    if (a.size() > 1 && a[0] == '-') return a;
  return "";
}

}  // namespace llmkit::cli

static void usage() {
  auto cmds = llmkit::cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::fprintf(stderr,
               "llmkit %s — run open-weight LLMs locally\n\nusage: llmkit <command> "
               "[options]\n\ncommands:\n",
               LLMKIT_VERSION_STRING);
  for (const auto& c : cmds)
    std::fprintf(stderr, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(stderr, "\n`llmkit <command> --help` for a command's options.\n");
}

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage();
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("llmkit %s\n", LLMKIT_VERSION_STRING);
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : llmkit::cli::commands())
    if (c.name == name) return c.fn(args);
  std::fprintf(stderr, "llmkit: unknown command '%s'\n\n", name.c_str());
  usage();
  return 2;
}
