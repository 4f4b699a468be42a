#include "store/json_shred.h"

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "base/varint.h"
#include "store/column_codec.h"

namespace ca::store {
namespace {

/// Sub-column forms (the first byte of a sub-column).
constexpr uint8_t kFormPlain = 0;         ///< the string plain encoding of the values
constexpr uint8_t kFormDictionary = 1;    ///< distinct values + an id block
constexpr uint8_t kFormPrefixNumber = 2;  ///< the string prefix_number encoding of the values

/// The string encoding that lays out the values of form kFormPlain or kFormPrefixNumber.
Encoding FormEncoding(uint8_t form) {
  return form == kFormPrefixNumber ? Encoding::kPrefixNumber : Encoding::kPlain;
}

/// Bit 7 of an id block's tag: the ids are recency codes. Code 0 = the lowest id not used yet
/// in the block, 1..kRecentIds = the id used that many distinct ids ago, kRecentIds + 1 + id = id.
constexpr uint8_t kRecencyFlag = 0x80;
constexpr size_t kRecentIds = 16;

/// The ids most recently used, most recent first, at most kRecentIds.
class RecentList {
 public:
  /// Position of `id` in the list, or -1.
  int Find(uint32_t id) const {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return static_cast<int>(i);
    }
    return -1;
  }
  uint32_t At(size_t pos) const { return ids_[pos]; }
  size_t size() const { return ids_.size(); }
  /// Moves `id` (at `pos`, or -1 when absent) to the front.
  void Use(uint32_t id, int pos) {
    if (pos < 0) {
      if (ids_.size() < kRecentIds) ids_.push_back(id);
      pos = static_cast<int>(ids_.size()) - 1;
    }
    for (int i = pos; i > 0; --i) ids_[i] = ids_[i - 1];
    ids_[0] = id;
  }

 private:
  std::vector<uint32_t> ids_;
};

std::vector<uint32_t> ToRecency(std::span<const uint32_t> ids) {
  std::vector<uint32_t> codes(ids.size());
  RecentList recent;
  uint32_t next_new = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t id = ids[i];
    const int pos = id == next_new ? -1 : recent.Find(id);
    if (id == next_new) {
      codes[i] = 0;
      ++next_new;
    } else {
      codes[i] =
          pos >= 0 ? static_cast<uint32_t>(pos) + 1 : static_cast<uint32_t>(kRecentIds + 1 + id);
    }
    recent.Use(id, pos);
  }
  return codes;
}

/// Inverse of ToRecency in place; false when a code names no value (ids must be < d).
bool FromRecency(std::vector<uint32_t>* codes, uint64_t d) {
  RecentList recent;
  uint64_t next_new = 0;
  for (uint32_t& code : *codes) {
    uint32_t id;
    int pos = -1;
    if (code == 0) {
      if (next_new >= d) return false;
      id = static_cast<uint32_t>(next_new++);
    } else if (code <= kRecentIds) {
      if (code > recent.size()) return false;
      pos = static_cast<int>(code - 1);
      id = recent.At(static_cast<size_t>(pos));
    } else {
      if (code - kRecentIds - 1 >= d) return false;
      id = static_cast<uint32_t>(code - kRecentIds - 1);
      pos = recent.Find(id);
    }
    recent.Use(id, pos);
    code = id;
  }
  return true;
}

/// Integer encodings tried for shape ids and dictionary ids, in order of preference on ties.
constexpr Encoding kIdEncodings[] = {Encoding::kConstant, Encoding::kRle, Encoding::kFor,
                                     Encoding::kDelta};

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

/// A bounds-checked cursor over encoded bytes.
class Reader {
 public:
  explicit Reader(std::string_view data) : s_(data) {}

  bool Varint(uint64_t* v) {
    std::string_view rest = s_.substr(pos_);
    if (!GetVarint(&rest, v)) return false;
    pos_ = s_.size() - rest.size();
    return true;
  }
  bool U8(uint8_t* v) {
    if (pos_ == s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  /// A varint length followed by that many bytes.
  bool Bytes(std::string_view* v) {
    uint64_t len;
    if (!Varint(&len) || len > remaining()) return false;
    *v = s_.substr(pos_, len);
    pos_ += len;
    return true;
  }
  std::string_view Rest() {
    std::string_view rest = s_.substr(pos_);
    pos_ = s_.size();
    return rest;
  }
  size_t remaining() const { return s_.size() - pos_; }
  bool done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Status Bad(std::string_view what) {
  return Corruption(std::string("json_shred: ") + std::string(what));
}

/// Splits one minified JSON object into literal pieces (everything but the leaf values) and leaf
/// values with their key paths. Pieces and paths are kept in flat buffers reused across rows.
class RowParser {
 public:
  /// True when `s` is shreddable; then slots() leaves were found.
  bool Parse(std::string_view s) {
    s_ = s;
    pos_ = 0;
    lit_.clear();
    lit_ends_.clear();
    paths_.clear();
    path_ends_.clear();
    values_.clear();
    cur_path_.clear();
    if (s.empty() || s[0] != '{' || !Object(1) || pos_ != s.size()) return false;
    lit_ends_.push_back(lit_.size());
    return true;
  }

  size_t slots() const { return values_.size(); }
  /// Literal piece i (0..slots()); piece i precedes leaf i, the last one follows the last leaf.
  std::string_view piece(size_t i) const {
    const size_t begin = i == 0 ? 0 : lit_ends_[i - 1];
    return std::string_view(lit_).substr(begin, lit_ends_[i] - begin);
  }
  /// The key path of leaf i: the raw texts (quotes included) of the keys from the top, joined.
  std::string_view path(size_t i) const {
    const size_t begin = i == 0 ? 0 : path_ends_[i - 1];
    return std::string_view(paths_).substr(begin, path_ends_[i] - begin);
  }
  std::string_view value(size_t i) const { return values_[i]; }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }

  /// At '{': one object, nested objects recursively.
  bool Object(size_t depth) {
    lit_.push_back('{');
    ++pos_;
    if (AtEnd()) return false;
    if (s_[pos_] == '}') {
      lit_.push_back('}');
      ++pos_;
      return true;
    }
    while (true) {
      const size_t key_start = pos_;
      if (AtEnd() || s_[pos_] != '"' || !SkipString()) return false;
      const std::string_view key = s_.substr(key_start, pos_ - key_start);
      if (AtEnd() || s_[pos_] != ':') return false;
      ++pos_;
      if (AtEnd()) return false;
      lit_.append(key);
      lit_.push_back(':');
      const size_t path_len = cur_path_.size();
      cur_path_.append(key);
      if (s_[pos_] == '{') {
        if (depth >= kMaxJsonDepth || !Object(depth + 1)) return false;
      } else {
        const size_t start = pos_;
        if (!SkipLeaf()) return false;
        lit_ends_.push_back(lit_.size());
        paths_.append(cur_path_);
        path_ends_.push_back(paths_.size());
        values_.push_back(s_.substr(start, pos_ - start));
      }
      cur_path_.resize(path_len);
      if (AtEnd()) return false;
      const char c = s_[pos_++];
      lit_.push_back(c);
      if (c == '}') return true;
      if (c != ',') return false;
    }
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  /// At '"': a string with valid escapes and no raw control characters.
  bool SkipString() {
    ++pos_;
    while (!AtEnd()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) return false;
        const char e = s_[pos_ + 1];
        if (e == 'u') {
          if (pos_ + 6 > s_.size()) return false;
          for (size_t i = 2; i < 6; ++i) {
            if (!IsHex(s_[pos_ + i])) return false;
          }
          pos_ += 6;
          continue;
        }
        if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') return false;
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    return false;
  }

  bool SkipDigits() {
    const size_t start = pos_;
    while (!AtEnd() && IsDigit(s_[pos_])) ++pos_;
    return pos_ > start;
  }

  /// A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool SkipNumber() {
    if (s_[pos_] == '-') ++pos_;
    if (AtEnd()) return false;
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (!SkipDigits()) {
      return false;
    }
    if (!AtEnd() && s_[pos_] == '.') {
      ++pos_;
      if (!SkipDigits()) return false;
    }
    if (!AtEnd() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!AtEnd() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!SkipDigits()) return false;
    }
    return true;
  }

  /// At '[': raw text up to the matching ']', brackets balanced, strings skipped, no whitespace.
  bool SkipArray() {
    uint64_t stack = 0;  // bit d set: the bracket opened at depth d is '['
    size_t depth = 0;
    while (!AtEnd()) {
      const char c = s_[pos_];
      if (c == '"') {
        if (!SkipString()) return false;
        continue;
      }
      if (c == '[' || c == '{') {
        if (depth >= kMaxJsonDepth) return false;
        stack = c == '[' ? stack | (uint64_t{1} << depth) : stack & ~(uint64_t{1} << depth);
        ++depth;
      } else if (c == ']' || c == '}') {
        if (depth == 0) return false;
        --depth;
        if (((stack >> depth) & 1) != (c == ']' ? 1u : 0u)) return false;
        if (depth == 0) {
          ++pos_;
          return true;
        }
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        return false;
      }
      ++pos_;
    }
    return false;
  }

  bool SkipWord(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool SkipLeaf() {
    const char c = s_[pos_];
    switch (c) {
      case '"':
        return SkipString();
      case '[':
        return SkipArray();
      case 't':
        return SkipWord("true");
      case 'f':
        return SkipWord("false");
      case 'n':
        return SkipWord("null");
      default:
        return (c == '-' || IsDigit(c)) && SkipNumber();
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string lit_;
  std::vector<size_t> lit_ends_;
  std::string paths_;
  std::vector<size_t> path_ends_;
  std::vector<std::string_view> values_;
  std::string cur_path_;
};

/// Estimated stored size of `bytes` once the block is compressed: their zstd size.
size_t Cost(std::string_view bytes) {
  thread_local std::string buf;
  buf.resize(ZSTD_compressBound(bytes.size()));
  const size_t n = ZSTD_compress(buf.data(), buf.size(), bytes.data(), bytes.size(), 1);
  return ZSTD_isError(n) ? bytes.size() : std::min(n, bytes.size());
}

/// Appends an id block: u8 tag (uint32 encoding, | kRecencyFlag for recency codes), varint
/// length, the uint32 encoding of the ids or codes. `ids` must be numbered by first use (each new
/// id is the lowest unused one), which makes recency code 0 frequent.
void PutIdBlock(std::span<const uint32_t> ids, std::string* out) {
  const std::vector<uint32_t> codes = ToRecency(ids);
  std::string best, candidate;
  uint8_t best_tag = 0;
  size_t best_cost = 0;
  bool found = false;
  for (bool recency : {false, true}) {
    BlockValues v;
    v.kind = ColumnKind::kUInt32;
    v.u32 = recency ? std::span<const uint32_t>(codes) : ids;
    for (Encoding e : kIdEncodings) {
      candidate.clear();
      if (!EncodeWith(e, v, &candidate)) continue;
      const size_t cost = Cost(candidate);
      if (!found || cost < best_cost) {
        found = true;
        best_cost = cost;
        best_tag = static_cast<uint8_t>(static_cast<uint8_t>(e) | (recency ? kRecencyFlag : 0));
        best.swap(candidate);
      }
    }
  }
  out->push_back(static_cast<char>(best_tag));
  PutBytes(out, best);
}

/// Reads an id block of `n` ids, each < `d`.
bool ReadIdBlock(Reader& r, size_t n, uint64_t d, std::vector<uint32_t>* ids) {
  uint8_t tag;
  std::string_view bytes;
  if (!r.U8(&tag) || !r.Bytes(&bytes)) return false;
  const auto e = static_cast<Encoding>(tag & ~kRecencyFlag);
  if (!DecodeUInt32(e, bytes, n, ids).ok()) return false;
  if ((tag & kRecencyFlag) != 0) return FromRecency(ids, d);
  return std::all_of(ids->begin(), ids->end(), [&](uint32_t id) { return id < d; });
}

/// The smallest of the sub-column forms for `values`.
std::string EncodeSubColumn(const std::vector<std::string_view>& values) {
  const size_t m = values.size();
  std::unordered_map<std::string_view, uint32_t> ids;
  std::vector<std::string> dict;
  std::vector<uint32_t> idx(m);
  for (size_t i = 0; i < m; ++i) {
    auto [it, inserted] = ids.emplace(values[i], static_cast<uint32_t>(dict.size()));
    if (inserted) dict.emplace_back(values[i]);
    idx[i] = it->second;
  }
  BlockValues sv;
  sv.kind = ColumnKind::kString;
  sv.str = dict;
  std::string dict_bytes;
  EncodeWith(Encoding::kPlain, sv, &dict_bytes);
  std::string best;
  best.push_back(static_cast<char>(kFormDictionary));
  PutVarint(&best, dict.size());
  PutBytes(&best, dict_bytes);
  PutIdBlock(idx, &best);
  if (dict.size() * 4 < m) return best;  // repetitive enough: the other forms cannot win

  std::vector<std::string> all(values.begin(), values.end());
  sv.str = all;
  std::string candidate;
  for (uint8_t form : {kFormPlain, kFormPrefixNumber}) {
    candidate.assign(1, static_cast<char>(form));
    if (!EncodeWith(FormEncoding(form), sv, &candidate)) continue;
    if (candidate.size() < best.size()) best.swap(candidate);
  }
  return best;
}

/// A decoded sub-column: value j is dict[ids[j]], or dict[j] when ids is empty.
struct SubColumn {
  std::vector<std::string> dict;
  std::vector<uint32_t> ids;
  const std::string& Get(size_t j) const { return ids.empty() ? dict[j] : dict[ids[j]]; }
};

Status DecodeSubColumn(std::string_view data, size_t m, SubColumn* col) {
  Reader r(data);
  uint8_t form;
  if (!r.U8(&form)) return Bad("empty sub-column");
  col->ids.clear();
  switch (form) {
    case kFormPlain:
    case kFormPrefixNumber:
      return DecodeString(FormEncoding(form), r.Rest(), m, &col->dict);
    case kFormDictionary: {
      uint64_t d;
      std::string_view dict_bytes;
      if (!r.Varint(&d) || d > m || (m > 0 && d == 0) || !r.Bytes(&dict_bytes)) {
        return Bad("bad sub-column dictionary");
      }
      CA_RETURN_IF_ERROR(DecodeString(Encoding::kPlain, dict_bytes, d, &col->dict));
      if (!ReadIdBlock(r, m, d, &col->ids) || !r.done()) return Bad("bad sub-column ids");
      return Status::Ok();
    }
    default:
      return Bad("unknown sub-column form");
  }
}

struct Shape {
  std::vector<std::string> pieces;  ///< slots + 1 literal pieces
  std::vector<uint32_t> cols;       ///< sub-column of each slot
};

}  // namespace

bool IsShreddableJson(std::string_view value) {
  RowParser parser;
  return parser.Parse(value);
}

void EncodeJsonShred(std::span<const std::string> values, std::string* out, JsonShredStats* stats) {
  const size_t n = values.size();
  RowParser parser;
  std::unordered_map<std::string, uint32_t> path_ids;
  std::vector<std::vector<std::string_view>> cols;
  std::unordered_map<std::string, uint32_t> shape_ids;
  std::vector<Shape> shapes;
  std::vector<uint32_t> row_shape(n);
  std::vector<uint32_t> slot_cols;
  std::string key;
  size_t total_values = 0;
  uint32_t raw_shape = UINT32_MAX, raw_col = UINT32_MAX;
  JsonShredStats st;
  for (size_t i = 0; i < n; ++i) {
    bool ok = parser.Parse(values[i]);
    const size_t k = ok ? parser.slots() : 0;
    // Leave room for the remaining rows, which may all be raw.
    if (ok && total_values + k + (n - i) > kMaxJsonBlockValues) ok = false;
    if (ok) {
      slot_cols.clear();
      for (size_t j = 0; j < k; ++j) {
        auto [it, inserted] =
            path_ids.try_emplace(std::string(parser.path(j)), static_cast<uint32_t>(cols.size()));
        if (inserted) cols.emplace_back();
        slot_cols.push_back(it->second);
        cols[it->second].push_back(parser.value(j));
      }
      const bool too_many = std::any_of(slot_cols.begin(), slot_cols.end(), [&](uint32_t c) {
        return cols[c].size() > kMaxJsonSubColumnValues;
      });
      if (too_many) {
        for (uint32_t c : slot_cols) cols[c].pop_back();
        ok = false;
      }
    }
    if (ok) {
      total_values += k;
      key.clear();
      for (size_t j = 0; j <= k; ++j) {
        PutBytes(&key, parser.piece(j));
        if (j < k) PutVarint(&key, slot_cols[j]);
      }
      auto [it, inserted] = shape_ids.try_emplace(key, static_cast<uint32_t>(shapes.size()));
      if (inserted) {
        Shape shape;
        for (size_t j = 0; j <= k; ++j) shape.pieces.emplace_back(parser.piece(j));
        shape.cols = slot_cols;
        shapes.push_back(std::move(shape));
      }
      row_shape[i] = it->second;
      ++st.shredded_rows;
    } else {
      if (raw_shape == UINT32_MAX) {
        raw_col = static_cast<uint32_t>(cols.size());
        cols.emplace_back();
        raw_shape = static_cast<uint32_t>(shapes.size());
        shapes.push_back(Shape{{"", ""}, {raw_col}});
      }
      cols[raw_col].push_back(values[i]);
      ++total_values;
      row_shape[i] = raw_shape;
      ++st.raw_rows;
    }
  }
  // Paths first seen in a row that was then stored raw may have no values: drop them.
  std::vector<uint32_t> remap(cols.size());
  uint32_t p = 0;
  for (size_t c = 0; c < cols.size(); ++c) remap[c] = cols[c].empty() ? UINT32_MAX : p++;

  PutVarint(out, p);
  PutVarint(out, shapes.size());
  for (const Shape& shape : shapes) {
    PutVarint(out, shape.cols.size());
    for (uint32_t c : shape.cols) PutVarint(out, remap[c]);
    for (const std::string& piece : shape.pieces) PutBytes(out, piece);
  }
  PutIdBlock(row_shape, out);
  for (const auto& col : cols) {
    if (!col.empty()) PutBytes(out, EncodeSubColumn(col));
  }
  st.shapes = shapes.size();
  st.sub_columns = p;
  if (stats != nullptr) *stats = st;
}

Status DecodeJsonShred(std::string_view data, size_t n, std::vector<std::string>* out) {
  if (n > kMaxBlockRows) return Bad("too many rows in block");
  Reader r(data);
  uint64_t p, s;
  if (!r.Varint(&p) || p > r.remaining() || !r.Varint(&s) || s > n || (n > 0 && s == 0)) {
    return Bad("bad shape or sub-column count");
  }
  // Shape i: slots [slot_begin[i], slot_begin[i+1]) of slot_cols, pieces from slot_begin[i] + i.
  std::vector<size_t> slot_begin(s + 1, 0);
  std::vector<uint32_t> slot_cols;
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < s; ++i) {
    uint64_t k;
    if (!r.Varint(&k) || k > r.remaining()) return Bad("bad shape slot count");
    for (uint64_t j = 0; j < k; ++j) {
      uint64_t c;
      if (!r.Varint(&c) || c >= p) return Bad("bad shape sub-column");
      slot_cols.push_back(static_cast<uint32_t>(c));
    }
    for (uint64_t j = 0; j <= k; ++j) {
      std::string_view piece;
      if (!r.Bytes(&piece)) return Bad("bad shape piece");
      pieces.push_back(piece);
    }
    slot_begin[i + 1] = slot_cols.size();
  }
  std::vector<uint32_t> row_shape;
  if (!ReadIdBlock(r, n, s, &row_shape)) return Bad("bad row shapes");
  std::vector<uint64_t> shape_rows(s, 0);
  for (uint32_t id : row_shape) ++shape_rows[id];
  std::vector<uint64_t> m(p, 0);
  uint64_t total = 0;
  for (size_t i = 0; i < s; ++i) {
    for (size_t j = slot_begin[i]; j < slot_begin[i + 1]; ++j) {
      m[slot_cols[j]] += shape_rows[i];
      total += shape_rows[i];
      if (m[slot_cols[j]] > kMaxJsonSubColumnValues || total > kMaxJsonBlockValues) {
        return Bad("too many values");
      }
    }
  }
  std::vector<SubColumn> cols(p);
  for (size_t c = 0; c < p; ++c) {
    std::string_view bytes;
    if (!r.Bytes(&bytes)) return Bad("truncated sub-column");
    Status st = DecodeSubColumn(bytes, m[c], &cols[c]);
    if (!st.ok()) return Bad("sub-column " + std::to_string(c) + ": " + std::string(st.message()));
  }
  if (!r.done()) return Bad("trailing bytes in block");

  out->resize(n);
  std::vector<size_t> cursor(p, 0);
  for (size_t row = 0; row < n; ++row) {
    const size_t i = row_shape[row];
    std::string& o = (*out)[row];
    const size_t first_piece = slot_begin[i] + i;
    o.assign(pieces[first_piece]);
    for (size_t j = slot_begin[i]; j < slot_begin[i + 1]; ++j) {
      const uint32_t c = slot_cols[j];
      o.append(cols[c].Get(cursor[c]++));
      o.append(pieces[first_piece + (j - slot_begin[i]) + 1]);
    }
  }
  return Status::Ok();
}

}  // namespace ca::store
