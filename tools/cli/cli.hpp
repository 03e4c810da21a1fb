// The `llmkit` command-line tool: one file per subcommand, each registering itself here.
//
//   static llmkit::cli::Register reg("inspect", "Describe a model file or HF folder", run_inspect);
//
// A subcommand gets argv after its name and returns the process exit code. Program output goes to
// stdout; logs, timings and errors go to stderr.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace llmkit::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;
  std::string summary;
  CommandFn fn;
};

std::vector<Command>& commands();

struct Register {
  Register(std::string name, std::string summary, CommandFn fn) {
    commands().push_back({std::move(name), std::move(summary), std::move(fn)});
  }
};

// The default model the setup script fetches: $LLMKIT_MODEL_CACHE (or ~/.cache/llmkit)
// /SmolLM2-135M-Instruct.Q4_1.gguf.
std::string default_model_path();

// The repack cache directory the CLI uses (ModelOptions::repack_cache_dir): --repack-cache DIR,
// or off with --no-repack-cache, else $LLMKIT_REPACK_CACHE (empty: off), else
// ${LLMKIT_MODEL_CACHE:-~/.cache/llmkit}/repack. Removes the options from ARGS.
std::string repack_cache_option(class Args& args);
extern const char* const kRepackCacheUsage;  // the options' help lines

// Tiny argument helper: `--name value`, `--name=value`, `-n value` and boolean flags.
class Args {
 public:
  explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}
  // Returns true and removes the flag if present.
  bool flag(const std::string& long_name, const std::string& short_name = "");
  // Returns the value and removes the option if present; sets error() when the value is missing.
  std::optional<std::string> option(const std::string& long_name,
                                    const std::string& short_name = "");
  // What remains after options were taken (positional arguments and unknown options).
  const std::vector<std::string>& rest() const { return args_; }
  // Non-empty when an unknown option (starting with '-') is left.
  std::string unknown_option() const;
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> args_;
  std::string error_;
};

}  // namespace llmkit::cli
