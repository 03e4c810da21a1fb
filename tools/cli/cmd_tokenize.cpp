// `llmkit tokenize --model PATH [--add-special] [--parse-special] [--ids|--pieces] [--text TEXT]`
// `llmkit detokenize --model PATH [--skip-special] [--keep-invalid-utf8] [--ids "1 2 3"]`
//
// tokenize reads the text from stdin byte-exact (no newline stripping; empty input is the empty
// string) unless --text is given, and prints the ids separated by single spaces on one line.
// detokenize reads ids (separated by whitespace, commas or brackets) from stdin or --ids and
// writes the decoded text to stdout exactly, with no newline added, so that
// `llmkit tokenize ... | llmkit detokenize ...` reproduces the input.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "llmkit/tokenizer.hpp"

namespace llmkit::cli {
namespace {

std::string read_stdin() {
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) data.append(buf, n);
  return data;
}

// A piece for --pieces: control characters, backslash and space escaped so that pieces stay
// separable on one line.
std::string escape_piece(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case ' ':
        out += "\\s";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02X", c);
          out += b;
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

Result<std::shared_ptr<const Tokenizer>> load_for(const char* cmd, const std::string& path) {
  auto tok = Tokenizer::load(path);
  if (!tok.is_ok()) std::fprintf(stderr, "llmkit %s: %s\n", cmd, tok.status().to_string().c_str());
  return tok;
}

int usage_error(const char* cmd, const std::string& msg) {
  std::fprintf(stderr, "llmkit %s: %s (see --help)\n", cmd, msg.c_str());
  return 2;
}

int run_tokenize(const std::vector<std::string>& argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::fprintf(
        stderr,
        "usage: llmkit tokenize [--model PATH] [--add-special] [--parse-special] [--ids|--pieces] "
        "[--text TEXT]\n"
        "  PATH: a GGUF file, tokenizer.model, tokenizer.json or Hugging Face folder\n"
        "        (default: the model fetched by the setup script).\n"
        "  Text comes from stdin, read byte-exact, unless --text is given.\n"
        "  --add-special    add BOS/EOS as the tokenizer file prescribes (default: none)\n"
        "  --parse-special  recognise special-token text such as <|im_start|> in the input\n"
        "  --ids            print token ids separated by spaces (default)\n"
        "  --pieces         print the vocabulary pieces instead (\\s = space, \\n = newline)\n");
    return 0;
  }
  EncodeOptions opts;
  opts.add_special = args.flag("--add-special");
  opts.parse_special = args.flag("--parse-special");
  const bool ids_flag = args.flag("--ids");
  const bool pieces = args.flag("--pieces");
  std::optional<std::string> text = args.option("--text", "-t");
  const std::string path = args.option("--model", "-m").value_or(default_model_path());
  if (!args.error().empty()) return usage_error("tokenize", args.error());
  if (auto u = args.unknown_option(); !u.empty())
    return usage_error("tokenize", "unknown option " + u);
  if (!args.rest().empty()) return usage_error("tokenize", "unexpected argument " + args.rest()[0]);
  auto tok = load_for("tokenize", path);
  if (ids_flag && pieces) return usage_error("tokenize", "--ids and --pieces exclude each other");
  if (!tok.is_ok()) return 1;
  const std::string input = text ? *text : read_stdin();
  auto ids = (*tok)->encode(input, opts);
  if (!ids.is_ok()) {
    std::fprintf(stderr, "llmkit tokenize: %s\n", ids.status().to_string().c_str());
    return 1;
  }
  std::string line;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (i) line += ' ';
    line += pieces ? escape_piece((*tok)->token_text((*ids)[i])) : std::to_string((*ids)[i]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

// Parses "1 2 3", "1,2,3" or "[1, 2, 3]".
bool parse_ids(const std::string& s, std::vector<int32_t>& out, std::string& err) {
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '[' || c == ']') {
      ++i;
      continue;
    }
    size_t j = i;
    if (s[j] == '-') ++j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    const std::string num = s.substr(i, j - i);
    if (num.empty() || num == "-" ||
        (j < s.size() && std::string(" \t\n\r,[]").find(s[j]) == std::string::npos)) {
      err = "not a token id at byte " + std::to_string(i) + ": '" + s.substr(i, 20) + "'";
      return false;
    }
    if (num.size() > 11 || std::stoll(num) < INT32_MIN || std::stoll(num) > INT32_MAX) {
      err = "token id " + num + " is out of range";
      return false;
    }
    out.push_back(int32_t(std::stoll(num)));
    i = j;
  }
  return true;
}

int run_detokenize(const std::vector<std::string>& argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::fprintf(
        stderr,
        "usage: llmkit detokenize [--model PATH] [--skip-special] [--keep-invalid-utf8] [--ids \"1 "
        "2 3\"]\n"
        "  Reads token ids (separated by spaces, commas or brackets) from stdin unless --ids\n"
        "  is given and writes the decoded text to stdout exactly (no newline added).\n"
        "  --skip-special       drop BOS/EOS/control tokens instead of rendering their text\n"
        "  --keep-invalid-utf8  write invalid UTF-8 from byte tokens as is (default: U+FFFD)\n");
    return 0;
  }
  DecodeOptions opts;
  opts.skip_special = args.flag("--skip-special");
  opts.keep_invalid_utf8 = args.flag("--keep-invalid-utf8");
  std::optional<std::string> ids_text = args.option("--ids");
  const std::string path = args.option("--model", "-m").value_or(default_model_path());
  if (!args.error().empty()) return usage_error("detokenize", args.error());
  if (auto u = args.unknown_option(); !u.empty())
    return usage_error("detokenize", "unknown option " + u);
  if (!args.rest().empty())
    return usage_error("detokenize", "unexpected argument " + args.rest()[0]);
  auto tok = load_for("detokenize", path);
  if (!tok.is_ok()) return 1;
  std::vector<int32_t> ids;
  std::string err;
  if (!parse_ids(ids_text ? *ids_text : read_stdin(), ids, err))
    return usage_error("detokenize", err);
  auto text = (*tok)->decode(ids, opts);
  if (!text.is_ok()) {
    std::fprintf(stderr, "llmkit detokenize: %s\n", text.status().to_string().c_str());
    return 1;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

Register reg_tokenize("tokenize",
                      "Text to token ids (GGUF, tokenizer.model, tokenizer.json or HF folder)",
                      run_tokenize);
Register reg_detokenize("detokenize", "Token ids to text", run_detokenize);

}  // namespace
}  // namespace llmkit::cli
