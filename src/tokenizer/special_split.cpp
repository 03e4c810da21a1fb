#include "tokenizer/special_split.hpp"

namespace llmkit::tok {
namespace {

// White_Space code points encoded in UTF-8 (ASCII ones handled separately).
constexpr std::string_view kMultiByteSpaces[] = {
    "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
    "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86",
    "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8",
    "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80",
};

bool ascii_space(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); }

bool word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}

}  // namespace

size_t whitespace_len_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 0;
  if (ascii_space(static_cast<unsigned char>(s[pos]))) return 1;
  for (std::string_view w : kMultiByteSpaces)
    if (s.compare(pos, w.size(), w) == 0) return w.size();
  return 0;
}

size_t whitespace_len_before(std::string_view s, size_t pos) {
  if (pos == 0 || pos > s.size()) return 0;
  if (ascii_space(static_cast<unsigned char>(s[pos - 1]))) return 1;
  for (std::string_view w : kMultiByteSpaces)
    if (pos >= w.size() && s.compare(pos - w.size(), w.size(), w) == 0) return w.size();
  return 0;
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens, bool include_special) {
  root_.fill(-1);
  terminal_.push_back(-1);  // node 0 = root
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || t.id < 0) continue;
    if (t.special && !include_special) continue;
    int32_t node = 0;
    for (unsigned char c : t.content) {
      int32_t next = child(node, c);
      if (next < 0) {
        next = int32_t(terminal_.size());
        terminal_.push_back(-1);
        if (node == 0)
          root_[c] = next;
        else
          edges_.emplace((uint64_t(node) << 8) | c, next);
      }
      node = next;
    }
    if (terminal_[size_t(node)] >= 0) continue;  // duplicate content: first wins
    terminal_[size_t(node)] = int32_t(tokens_.size());
    tokens_.push_back({t.id, uint32_t(t.content.size()), t.lstrip, t.rstrip, t.single_word});
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_[byte];
  auto it = edges_.find((uint64_t(node) << 8) | byte);
  return it == edges_.end() ? -1 : it->second;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextPiece>& out) const {
  const auto* u = reinterpret_cast<const unsigned char*>(text.data());
  size_t seg = 0;       // start of the pending text piece
  size_t no_match = 0;  // matches may not start before this (after a skipped single-word match)
  size_t i = 0;
  if (tokens_.empty()) {
    if (!text.empty()) out.push_back({-1, 0, text.size()});
    return;
  }
  while (i < text.size()) {
    if (root_[u[i]] < 0 || i < no_match) {
      ++i;
      continue;
    }
    // Longest token starting at i.
    int32_t best = -1;
    int32_t node = 0;
    for (size_t j = i; j < text.size(); ++j) {
      node = child(node, u[j]);
      if (node < 0) break;
      if (terminal_[size_t(node)] >= 0) best = terminal_[size_t(node)];
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const Entry& e = tokens_[size_t(best)];
    size_t start = i, stop = i + e.length;
    if (e.single_word) {
      bool left_ok = start == 0 || !word_byte(u[start - 1]);
      bool right_ok = stop == text.size() || !word_byte(u[stop]);
      if (!left_ok || !right_ok) {
        no_match = stop;
        i = stop;
        continue;
      }
    }
    if (e.lstrip)
      while (start > seg) {
        size_t w = whitespace_len_before(text, start);
        if (w == 0) break;
        start -= w;
      }
    if (e.rstrip)
      while (stop < text.size()) {
        size_t w = whitespace_len_at(text, stop);
        if (w == 0) break;
        stop += w;
      }
    if (start > seg) out.push_back({-1, seg, start});
    out.push_back({e.id, start, stop});
    seg = i = stop;
  }
  if (seg < text.size()) out.push_back({-1, seg, text.size()});
}

}  // namespace llmkit::tok
