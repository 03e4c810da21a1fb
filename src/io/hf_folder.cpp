// Hugging Face checkpoint folders: config.json + model.safetensors (or shards listed in
// model.safetensors.index.json) + tokenizer files. Produces the canonical ModelDescription.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/hf_config.hpp"
#include "io/model_description.hpp"
#include "io/safetensors.hpp"

namespace llmkit::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Small text files (configs) are read whole, with a size bound so a hostile file cannot make us
// allocate without limit.
Result<std::string> read_text_file(const std::string& path, uint64_t max_bytes = 64ull << 20) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status(StatusCode::kNotFound, path + ": " + ec.message());
  if (size > max_bytes)
    return Status(StatusCode::kCorruptFile,
                  path + ": " + std::to_string(size) + " bytes exceeds the limit of " +
                      std::to_string(max_bytes) + " for a JSON/text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string license_from_readme(const std::string& dir) {
  auto text = read_text_file(dir + "/README.md", 1 << 20);
  if (!text.is_ok() || text->rfind("---", 0) != 0) return "";
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && line != "---") {
    if (line.rfind("license:", 0) == 0) {
      std::string v = line.substr(8);
      v.erase(0, v.find_first_not_of(" \t\"'"));
      v.erase(v.find_last_not_of(" \t\r\"'") + 1);
      return v;
    }
  }
  return "";
}

}  // namespace

Result<std::shared_ptr<ModelDescription>> describe_hf_folder(const std::string& dir_in,
                                                             const LoadOptions& opts) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto d = std::make_shared<ModelDescription>();
  d->format = SourceFormat::kSafetensors;
  d->path = dir;
  d->config_json = dir + "/config.json";
  std::error_code ec;
  if (!fs::exists(d->config_json, ec))
    return Status(StatusCode::kNotFound, dir + ": no config.json: not a Hugging Face model folder");
  LLMKIT_ASSIGN_OR_RETURN(std::string cfg_text, read_text_file(d->config_json));
  LLMKIT_ASSIGN_OR_RETURN(d->hparams, parse_hf_config(cfg_text, d->config_json));
  const std::string arch = d->hparams.architecture;

  // Which shard files hold the weights.
  std::vector<std::string> shards;
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (fs::exists(index_path, ec)) {
    LLMKIT_ASSIGN_OR_RETURN(std::string idx_text, read_text_file(index_path));
    json idx;
    try {
      idx = json::parse(idx_text);
    } catch (const std::exception& e) {
      return Status(StatusCode::kCorruptFile, index_path + ": " + e.what());
    }
    if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
      return Status(StatusCode::kCorruptFile,
                    index_path + ": field 'weight_map' missing or not an object");
    std::set<std::string> uniq;
    for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
      if (!it->is_string())
        return Status(StatusCode::kCorruptFile,
                      index_path + ": weight_map['" + it.key() + "'] is not a string");
      std::string shard = it->get<std::string>();
      if (shard.empty() || shard.find('/') != std::string::npos ||
          shard.find("..") != std::string::npos)
        return Status(StatusCode::kCorruptFile, index_path + ": weight_map['" + it.key() +
                                                    "'] = '" + shard +
                                                    "' is not a plain file name inside the folder");
      uniq.insert(shard);
    }
    shards.assign(uniq.begin(), uniq.end());
  } else if (fs::exists(dir + "/model.safetensors", ec)) {
    shards.push_back("model.safetensors");
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") shards.push_back(e.path().filename().string());
    std::sort(shards.begin(), shards.end());
  }
  if (shards.empty()) return Status(StatusCode::kNotFound, dir + ": no .safetensors weights found");

  for (const std::string& shard : shards) {
    const std::string p = dir + "/" + shard;
    if (!fs::exists(p, ec))
      return Status(StatusCode::kNotFound,
                    index_path + ": missing shard '" + shard + "' (expected at " + p + ")");
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> st,
                            SafetensorsFile::open(p, opts.map));
    d->files.push_back(p);
    for (const auto& t : st->tensors()) {
      TensorRef r;
      r.name = canonical_hf_name(t.name, arch).value_or(t.name);
      r.type = t.type;
      r.shape.assign(t.shape.rbegin(), t.shape.rend());  // PyTorch [out, in] → ggml [in, out]
      r.n_elements = t.n_elements;
      r.n_bytes = t.end - t.begin;
      r.data = t.data;
      r.source_file = p;
      r.source_name = t.name;
      r.file_offset = t.file_offset;
      if (d->tensor_index.count(r.name))
        return Status(StatusCode::kCorruptFile, p + ": tensor '" + t.name + "' (canonical '" +
                                                    r.name +
                                                    "') appears more than once across the shards");
      d->tensor_index.emplace(r.name, d->tensors.size());
      d->tensors.push_back(std::move(r));
    }
    d->mappings.push_back(st->mapping());
  }
  // Tied embeddings stored only as lm_head.weight (the TinyStories-656K export): use it as the
  // embedding table and treat the model as tied.
  if (!d->find("token_embd.weight") && d->find("output.weight")) {
    size_t i = d->tensor_index["output.weight"];
    d->tensors[i].name = "token_embd.weight";
    d->tensor_index.erase("output.weight");
    d->tensor_index.emplace("token_embd.weight", i);
    d->hparams.tie_embeddings = true;
  }
  if (d->hparams.tie_embeddings && d->find("output.weight") && d->find("token_embd.weight")) {
    // Both present although tied: keep both (identical data), nothing to do.
  } else if (!d->find("output.weight")) {
    d->hparams.tie_embeddings = true;
  }
  if (d->hparams.n_vocab == 0)
    if (const TensorRef* e = d->find("token_embd.weight"); e && e->shape.size() == 2)
      d->hparams.n_vocab = static_cast<uint32_t>(e->shape[1]);

  d->qk_order = QkRowOrder::kHfRotateHalf;
  d->norm_weight_offset = (arch.rfind("gemma", 0) == 0) ? 1.0f : 0.0f;
  auto maybe = [&](const char* file) {
    return fs::exists(dir + "/" + file, ec) ? dir + "/" + file : std::string();
  };
  d->tokenizer_json = maybe("tokenizer.json");
  d->tokenizer_model = maybe("tokenizer.model");
  d->tokenizer_config_json = maybe("tokenizer_config.json");
  d->generation_config_json = maybe("generation_config.json");
  d->name = fs::path(dir).filename().string();
  d->license = license_from_readme(dir);
  if (!d->tokenizer_config_json.empty()) {
    auto text = read_text_file(d->tokenizer_config_json);
    if (text.is_ok()) {
      try {
        json tc = json::parse(*text);
        if (tc.is_object() && tc.contains("chat_template") && tc["chat_template"].is_string())
          d->chat_template = tc["chat_template"].get<std::string>();
      } catch (const std::exception&) {
        // A broken tokenizer_config.json is reported by the tokenizer loader, which needs it.
      }
    }
  }
  if (!d->chat_template) {
    auto jinja = read_text_file(dir + "/chat_template.jinja", 1 << 20);
    if (jinja.is_ok()) d->chat_template = *jinja;
  }
  return d;
}

}  // namespace llmkit::io
