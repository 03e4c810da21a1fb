// llmkit — umbrella header for the C++ API.
//
//   auto model = llmkit::Model::load("SmolLM2-135M-Instruct.Q4_1.gguf");   //
//   Result<shared_ptr<const Model>> auto session = llmkit::Session::create(*model); // one
//   conversation llmkit::Sampler sampler(llmkit::SamplerOptions::greedy()); auto r =
//   (*session)->generate("Once upon a time", sampler, {}, on_chunk);
//
// Every fallible call returns Status / Result<T>; nothing throws across the API. See each header
// for ownership and thread-safety rules: Model and Tokenizer are immutable and shareable, a Session
// is used by one thread at a time (cancel() excepted), a Sampler is a per-stream value.
#pragma once

#include "llmkit/model.hpp"
#include "llmkit/sampler.hpp"
#include "llmkit/session.hpp"
#include "llmkit/status.hpp"
#include "llmkit/tokenizer.hpp"
#include "llmkit/version.hpp"
