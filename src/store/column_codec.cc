#include "store/column_codec.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "base/varint.h"
#include "store/json_shred.h"

namespace ca::store {
namespace {

static_assert(std::endian::native == std::endian::little, "the part format is little-endian");

constexpr size_t kChunk = 128;
constexpr int kZstdLevelNumeric = 1;
constexpr int kZstdLevelString = 3;
/// Blocks smaller than this are never compressed.
constexpr size_t kMinCompressBytes = 64;
constexpr int kMaxScale = 6;
constexpr std::array<double, kMaxScale + 1> kPow10 = {1, 10, 100, 1000, 1e4, 1e5, 1e6};
constexpr int64_t kMaxSuffix = 999999999999999999;  // 18 digits

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

void PutVarint(std::string* out, uint64_t v) { ca::PutVarint(v, out); }

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

/// A bounds-checked cursor over encoded bytes.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}

  bool Varint(uint64_t* v) {
    std::string_view rest(reinterpret_cast<const char*>(p_), static_cast<size_t>(end_ - p_));
    if (!GetVarint(&rest, v)) return false;
    p_ = end_ - rest.size();
    return true;
  }
  bool U8(uint8_t* v) {
    if (p_ == end_) return false;
    *v = *p_++;
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    *v = Load64(p_);
    p_ += 8;
    return true;
  }
  bool Bytes(size_t n, const uint8_t** out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    *out = p_;
    p_ += n;
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool done() const { return p_ == end_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

Status Bad(std::string_view what) { return Corruption(what); }

/// Bit-packs `n` values in chunks of kChunk ("patched frame of reference"). Per chunk: the
/// chunk's minimum (zigzag varint when `is_unsigned` is false, else a plain varint of the bits),
/// one byte of bit width w (0..64), one byte of exception count e, ceil(count * w / 8) bytes
/// holding the low w bits of value - minimum (LSB first), then e exceptions (one byte of index in
/// the chunk, varint of the bits above w). w is chosen to minimise the chunk's size, so a few
/// outliers (a user change in a delta-coded column) do not widen every value.
void PackInts(const int64_t* v, size_t n, std::string* out, bool is_unsigned = false) {
  uint64_t off[kChunk];
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t count = std::min(kChunk, n - start);
    const int64_t* c = v + start;
    int64_t mn = c[0];
    for (size_t i = 1; i < count; ++i) {
      if (is_unsigned ? static_cast<uint64_t>(c[i]) < static_cast<uint64_t>(mn) : c[i] < mn) {
        mn = c[i];
      }
    }
    std::array<uint32_t, 65> hist{};
    for (size_t i = 0; i < count; ++i) {
      off[i] = static_cast<uint64_t>(c[i]) - static_cast<uint64_t>(mn);
      ++hist[off[i] == 0 ? 0 : 64 - std::countl_zero(off[i])];
    }
    int max_len = 64;
    while (max_len > 0 && hist[max_len] == 0) --max_len;
    int width = max_len;
    size_t best = (count * max_len + 7) / 8;
    for (int w = 0; w < max_len; ++w) {
      size_t cost = (count * w + 7) / 8;
      for (int l = w + 1; l <= max_len; ++l) cost += hist[l] * (1 + (l - w + 6) / 7);
      if (cost < best) {
        best = cost;
        width = w;
      }
    }
    PutVarint(out, is_unsigned ? static_cast<uint64_t>(mn) : ZigZag(mn));
    out->push_back(static_cast<char>(width));
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    size_t exceptions = 0;
    for (size_t i = 0; i < count; ++i) exceptions += (off[i] & ~mask) != 0;
    out->push_back(static_cast<char>(exceptions));
    if (width > 0) {
      const size_t bytes = (count * width + 7) / 8;
      const size_t pos = out->size();
      out->resize(pos + bytes);
      char* p = out->data() + pos;
      uint64_t acc = 0;
      int acc_bits = 0;
      size_t o = 0;
      for (size_t i = 0; i < count; ++i) {
        const uint64_t x = off[i] & mask;
        acc |= x << acc_bits;
        int total = acc_bits + width;
        if (total >= 64) {
          std::memcpy(p + o, &acc, 8);
          o += 8;
          acc = acc_bits == 0 ? 0 : x >> (64 - acc_bits);
          total -= 64;
        }
        acc_bits = total;
      }
      const size_t tail = (static_cast<size_t>(acc_bits) + 7) / 8;
      std::memcpy(p + o, &acc, tail);
    }
    for (size_t i = 0; i < count && exceptions > 0; ++i) {
      if ((off[i] & ~mask) == 0) continue;
      out->push_back(static_cast<char>(i));
      PutVarint(out, off[i] >> width);
    }
  }
}

/// Unpacks `count` values of `width` bits (1..64) from `p` (exactly ceil(count*width/8) bytes) and
/// adds `base`. Fast path: one unaligned 8-byte load per value while it stays inside the bytes.
void UnpackBits(const uint8_t* p, size_t len, size_t count, int width, uint64_t base,
                int64_t* out) {
  const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
  size_t fast = 0;
  if (width <= 56 && len >= 8) {
    fast = std::min(count, ((len - 7) * 8 - 1) / static_cast<size_t>(width) + 1);
  }
  for (size_t j = 0; j < fast; ++j) {
    const size_t bit = j * width;
    const uint64_t word = Load64(p + (bit >> 3));
    out[j] = static_cast<int64_t>(base + ((word >> (bit & 7)) & mask));
  }
  for (size_t j = fast; j < count; ++j) {
    size_t bit = j * width;
    uint64_t x = 0;
    int got = 0;
    while (got < width) {
      const int off = static_cast<int>(bit & 7);
      const int take = std::min(8 - off, width - got);
      x |= static_cast<uint64_t>((p[bit >> 3] >> off) & ((1u << take) - 1)) << got;
      got += take;
      bit += take;
    }
    out[j] = static_cast<int64_t>(base + x);
  }
}

/// Reads `n` values written by PackInts, calling sink(const int64_t*, size_t) per chunk.
template <typename Sink>
bool UnpackInts(ByteReader& r, size_t n, Sink&& sink, bool is_unsigned = false) {
  int64_t buf[kChunk];
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t count = std::min(kChunk, n - start);
    uint64_t base;
    uint8_t width, exceptions;
    if (!r.Varint(&base) || !r.U8(&width) || width > 64 || !r.U8(&exceptions) ||
        exceptions > count || (width == 64 && exceptions > 0)) {
      return false;
    }
    if (!is_unsigned) base = static_cast<uint64_t>(UnZigZag(base));
    if (width == 0) {
      std::fill(buf, buf + count, static_cast<int64_t>(base));
    } else {
      const size_t bytes = (count * width + 7) / 8;
      const uint8_t* p;
      if (!r.Bytes(bytes, &p)) return false;
      UnpackBits(p, bytes, count, width, base, buf);
    }
    int last = -1;
    for (uint8_t e = 0; e < exceptions; ++e) {
      uint8_t index;
      uint64_t high;
      if (!r.U8(&index) || index >= count || index <= last || !r.Varint(&high)) return false;
      last = index;
      buf[index] = static_cast<int64_t>(static_cast<uint64_t>(buf[index]) + (high << width));
    }
    sink(buf, count);
  }
  return true;
}

/// Writes the values of an integer column (int64 or uint32 widened) with encoding `e`.
bool EncodeInts(Encoding e, std::span<const int64_t> v, std::span<const int64_t> ts, bool narrow,
                std::string* out) {
  const size_t n = v.size();
  switch (e) {
    case Encoding::kPlain:
      for (int64_t x : v) {
        if (narrow) {
          const uint32_t u = static_cast<uint32_t>(x);
          out->append(reinterpret_cast<const char*>(&u), 4);
        } else {
          PutFixed64(out, static_cast<uint64_t>(x));
        }
      }
      return true;
    case Encoding::kConstant:
      if (n == 0 || std::any_of(v.begin(), v.end(), [&](int64_t x) { return x != v[0]; })) {
        return false;
      }
      PutVarint(out, ZigZag(v[0]));
      return true;
    case Encoding::kFor:
      PackInts(v.data(), n, out);
      return true;
    case Encoding::kDelta: {
      if (n == 0) return true;
      PutVarint(out, ZigZag(v[0]));
      std::vector<int64_t> d(n - 1);
      for (size_t i = 1; i < n; ++i)
        d[i - 1] = static_cast<int64_t>(ZigZag(WrapSub(v[i], v[i - 1])));
      PackInts(d.data(), d.size(), out, /*is_unsigned=*/true);
      return true;
    }
    case Encoding::kRle: {
      std::vector<int64_t> values, lengths;
      for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j] == v[i]) ++j;
        values.push_back(v[i]);
        lengths.push_back(static_cast<int64_t>(j - i));
        i = j;
      }
      PutVarint(out, values.size());
      PackInts(values.data(), values.size(), out);
      PackInts(lengths.data(), lengths.size(), out);
      return true;
    }
    case Encoding::kDictionary: {
      if (!narrow) return false;
      std::vector<int64_t> dict(v.begin(), v.end());
      std::sort(dict.begin(), dict.end());
      dict.erase(std::unique(dict.begin(), dict.end()), dict.end());
      std::vector<int64_t> idx(n);
      for (size_t i = 0; i < n; ++i) {
        idx[i] = std::lower_bound(dict.begin(), dict.end(), v[i]) - dict.begin();
      }
      PutVarint(out, dict.size());
      PackInts(dict.data(), dict.size(), out);
      PackInts(idx.data(), n, out);
      return true;
    }
    case Encoding::kDiffTimestamp: {
      if (narrow || ts.size() != n) return false;
      std::vector<int64_t> d(n);
      for (size_t i = 0; i < n; ++i) d[i] = WrapSub(v[i], ts[i]);
      PackInts(d.data(), n, out);
      return true;
    }
    default:
      return false;
  }
}

/// Narrows a decoded value into T; for uint32 records values outside its range in `bad`.
template <typename T>
inline T Narrow(int64_t x, uint64_t& bad) {
  if constexpr (std::is_same_v<T, uint32_t>) {
    bad |= static_cast<uint64_t>(x) >> 32;
    return static_cast<uint32_t>(x);
  } else {
    (void)bad;
    return x;
  }
}

template <typename T>
Status DecodeInts(Encoding e, std::string_view data, size_t n, std::span<const int64_t> ts,
                  std::vector<T>* out) {
  if (n > kMaxBlockRows) return Bad("too many rows in block");
  out->resize(n);
  T* o = out->data();
  ByteReader r(data);
  uint64_t bad = 0;
  switch (e) {
    case Encoding::kPlain: {
      const uint8_t* p;
      if (!r.Bytes(n * sizeof(T), &p)) return Bad("plain block too short");
      if (n > 0) std::memcpy(o, p, n * sizeof(T));
      break;
    }
    case Encoding::kConstant: {
      uint64_t z;
      if (!r.Varint(&z)) return Bad("bad constant");
      const T v = Narrow<T>(UnZigZag(z), bad);
      std::fill(o, o + n, v);
      break;
    }
    case Encoding::kFor: {
      size_t k = 0;
      if (!UnpackInts(r, n, [&](const int64_t* c, size_t m) {
            for (size_t i = 0; i < m; ++i) o[k + i] = Narrow<T>(c[i], bad);
            k += m;
          })) {
        return Bad("bad bit-packed values");
      }
      break;
    }
    case Encoding::kDelta: {
      if (n == 0) break;
      uint64_t z;
      if (!r.Varint(&z)) return Bad("bad first value");
      uint64_t acc = static_cast<uint64_t>(UnZigZag(z));
      o[0] = Narrow<T>(static_cast<int64_t>(acc), bad);
      size_t k = 1;
      if (!UnpackInts(
              r, n - 1,
              [&](const int64_t* c, size_t m) {
                for (size_t i = 0; i < m; ++i) {
                  acc += static_cast<uint64_t>(UnZigZag(static_cast<uint64_t>(c[i])));
                  o[k + i] = Narrow<T>(static_cast<int64_t>(acc), bad);
                }
                k += m;
              },
              /*is_unsigned=*/true)) {
        return Bad("bad bit-packed deltas");
      }
      break;
    }
    case Encoding::kRle: {
      uint64_t runs;
      if (!r.Varint(&runs) || runs > n || (n > 0 && runs == 0)) return Bad("bad run count");
      std::vector<int64_t> values(runs);
      size_t k = 0;
      if (!UnpackInts(r, runs, [&](const int64_t* c, size_t m) {
            std::copy(c, c + m, values.data() + k);
            k += m;
          })) {
        return Bad("bad run values");
      }
      size_t pos = 0, run = 0;
      bool lengths_ok = true;
      if (!UnpackInts(r, runs,
                      [&](const int64_t* c, size_t m) {
                        for (size_t i = 0; i < m && lengths_ok; ++i, ++run) {
                          const uint64_t len = static_cast<uint64_t>(c[i]);
                          if (len == 0 || len > n - pos) {
                            lengths_ok = false;
                            return;
                          }
                          std::fill(o + pos, o + pos + len, Narrow<T>(values[run], bad));
                          pos += len;
                        }
                      }) ||
          !lengths_ok || pos != n) {
        return Bad("bad run lengths");
      }
      break;
    }
    case Encoding::kDictionary: {
      uint64_t d;
      if (!r.Varint(&d) || d > n || (n > 0 && d == 0)) return Bad("bad dictionary size");
      std::vector<T> dict(d);
      size_t k = 0;
      if (!UnpackInts(r, d, [&](const int64_t* c, size_t m) {
            for (size_t i = 0; i < m; ++i) dict[k + i] = Narrow<T>(c[i], bad);
            k += m;
          })) {
        return Bad("bad dictionary values");
      }
      k = 0;
      if (!UnpackInts(r, n, [&](const int64_t* c, size_t m) {
            for (size_t i = 0; i < m; ++i) {
              const uint64_t idx = static_cast<uint64_t>(c[i]);
              bad |= idx >= d ? 1 : 0;
              o[k + i] = dict[idx < d ? idx : 0];
            }
            k += m;
          })) {
        return Bad("bad dictionary indices");
      }
      break;
    }
    case Encoding::kDiffTimestamp: {
      if (!std::is_same_v<T, int64_t> || ts.size() != n) return Bad("no timestamps for diff");
      size_t k = 0;
      if (!UnpackInts(r, n, [&](const int64_t* c, size_t m) {
            for (size_t i = 0; i < m; ++i) {
              o[k + i] =
                  static_cast<T>(static_cast<uint64_t>(c[i]) + static_cast<uint64_t>(ts[k + i]));
            }
            k += m;
          })) {
        return Bad("bad bit-packed differences");
      }
      break;
    }
    default:
      return Bad("encoding not valid for an integer column");
  }
  if (bad != 0) return Bad("value out of range");
  if (!r.done()) return Bad("trailing bytes in block");
  return Status::Ok();
}

uint64_t DoubleBits(double d) { return std::bit_cast<uint64_t>(d); }

/// The smallest scale k such that every non-NaN value is an integer / 10^k exactly, or -1.
int FindScale(std::span<const double> v) {
  for (int k = 0; k <= kMaxScale; ++k) {
    bool ok = true;
    for (double x : v) {
      if (std::isnan(x)) continue;
      const double s = x * kPow10[k];
      if (!(std::fabs(s) < 9007199254740992.0)) {
        ok = false;
        break;
      }
      const auto q = static_cast<int64_t>(std::nearbyint(s));
      if (DoubleBits(static_cast<double>(q) / kPow10[k]) != DoubleBits(x)) {
        ok = false;
        break;
      }
    }
    if (ok) return k;
  }
  return -1;
}

bool EncodeDoubles(Encoding e, std::span<const double> v, std::string* out) {
  const size_t n = v.size();
  switch (e) {
    case Encoding::kPlain:
      for (double x : v) PutFixed64(out, DoubleBits(x));
      return true;
    case Encoding::kConstant:
      if (n == 0) return false;
      for (double x : v) {
        if (DoubleBits(x) != DoubleBits(v[0])) return false;
      }
      PutFixed64(out, DoubleBits(v[0]));
      return true;
    case Encoding::kXor: {
      uint64_t prev = 0;
      for (double x : v) {
        const uint64_t b = DoubleBits(x);
        PutFixed64(out, b ^ prev);
        prev = b;
      }
      return true;
    }
    case Encoding::kScaled: {
      const int k = FindScale(v);
      if (k < 0) return false;
      std::vector<int64_t> scaled;
      std::string bitmap((n + 7) / 8, '\0');
      for (size_t i = 0; i < n; ++i) {
        if (std::isnan(v[i])) continue;
        bitmap[i / 8] = static_cast<char>(bitmap[i / 8] | (1 << (i % 8)));
        scaled.push_back(static_cast<int64_t>(std::nearbyint(v[i] * kPow10[k])));
      }
      out->push_back(static_cast<char>(k));
      PutVarint(out, scaled.size());
      if (!scaled.empty() && scaled.size() < n) out->append(bitmap);
      PackInts(scaled.data(), scaled.size(), out);
      return true;
    }
    default:
      return false;
  }
}

Status DecodeDoubles(Encoding e, std::string_view data, size_t n, std::vector<double>* out) {
  if (n > kMaxBlockRows) return Bad("too many rows in block");
  out->resize(n);
  double* o = out->data();
  ByteReader r(data);
  switch (e) {
    case Encoding::kPlain: {
      const uint8_t* p;
      if (!r.Bytes(n * 8, &p)) return Bad("plain block too short");
      if (n > 0) std::memcpy(o, p, n * 8);
      break;
    }
    case Encoding::kConstant: {
      uint64_t b;
      if (!r.Fixed64(&b)) return Bad("bad constant");
      std::fill(o, o + n, std::bit_cast<double>(b));
      break;
    }
    case Encoding::kXor: {
      const uint8_t* p;
      if (!r.Bytes(n * 8, &p)) return Bad("xor block too short");
      uint64_t prev = 0;
      for (size_t i = 0; i < n; ++i) {
        prev ^= Load64(p + 8 * i);
        o[i] = std::bit_cast<double>(prev);
      }
      break;
    }
    case Encoding::kScaled: {
      uint8_t k;
      uint64_t present;
      if (!r.U8(&k) || k > kMaxScale || !r.Varint(&present) || present > n) {
        return Bad("bad scaled header");
      }
      const uint8_t* bitmap = nullptr;
      if (present > 0 && present < n && !r.Bytes((n + 7) / 8, &bitmap)) {
        return Bad("bad presence bitmap");
      }
      auto is_present = [&](size_t row) {
        return bitmap == nullptr || (bitmap[row / 8] & (1 << (row % 8))) != 0;
      };
      const double scale = kPow10[k];
      size_t row = 0;
      bool ok = true;
      if (!UnpackInts(r, present,
                      [&](const int64_t* c, size_t m) {
                        for (size_t i = 0; i < m; ++i) {
                          while (row < n && !is_present(row)) o[row++] = kNoValue;
                          if (row >= n) {
                            ok = false;
                            return;
                          }
                          o[row++] = static_cast<double>(c[i]) / scale;
                        }
                      }) ||
          !ok) {
        return Bad("bad scaled values");
      }
      for (; row < n; ++row) {
        if (bitmap != nullptr && is_present(row)) {
          return Bad("presence bitmap disagrees with value count");
        }
        o[row] = kNoValue;
      }
      break;
    }
    default:
      return Bad("encoding not valid for a double column");
  }
  if (!r.done()) return Bad("trailing bytes in block");
  return Status::Ok();
}

/// Splits s into prefix + canonical decimal suffix (no leading zero unless "0", <= 18 digits).
bool SplitNumber(std::string_view s, size_t prefix_len, int64_t* number) {
  if (s.size() <= prefix_len) return false;
  std::string_view digits = s.substr(prefix_len);
  if (digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return false;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *number = v;
  return true;
}

bool EncodeStrings(Encoding e, std::span<const std::string> v, std::string* out) {
  const size_t n = v.size();
  switch (e) {
    case Encoding::kPlain: {
      std::vector<int64_t> lengths(n);
      for (size_t i = 0; i < n; ++i) lengths[i] = static_cast<int64_t>(v[i].size());
      PackInts(lengths.data(), n, out);
      for (const auto& s : v) out->append(s);
      return true;
    }
    case Encoding::kConstant:
      if (n == 0 || std::any_of(v.begin(), v.end(), [&](const auto& s) { return s != v[0]; })) {
        return false;
      }
      PutVarint(out, v[0].size());
      out->append(v[0]);
      return true;
    case Encoding::kDictionary: {
      std::unordered_map<std::string_view, int64_t> ids;
      std::vector<std::string_view> dict;
      std::vector<int64_t> idx(n);
      for (size_t i = 0; i < n; ++i) {
        auto [it, inserted] = ids.emplace(v[i], static_cast<int64_t>(dict.size()));
        if (inserted) dict.push_back(v[i]);
        idx[i] = it->second;
      }
      std::vector<int64_t> lengths(dict.size());
      for (size_t i = 0; i < dict.size(); ++i) lengths[i] = static_cast<int64_t>(dict[i].size());
      PutVarint(out, dict.size());
      PackInts(lengths.data(), lengths.size(), out);
      for (auto s : dict) out->append(s);
      PackInts(idx.data(), n, out);
      return true;
    }
    case Encoding::kPrefixNumber: {
      if (n == 0) return false;
      size_t prefix = v[0].size();
      for (const auto& s : v) {
        size_t i = 0;
        while (i < prefix && i < s.size() && s[i] == v[0][i]) ++i;
        prefix = i;
      }
      while (prefix > 0 && v[0][prefix - 1] >= '0' && v[0][prefix - 1] <= '9') --prefix;
      std::vector<int64_t> numbers(n);
      for (size_t i = 0; i < n; ++i) {
        if (!SplitNumber(v[i], prefix, &numbers[i])) return false;
      }
      PutVarint(out, prefix);
      out->append(v[0].data(), prefix);
      PutVarint(out, ZigZag(numbers[0]));
      for (size_t i = n - 1; i > 0; --i) {
        numbers[i] = static_cast<int64_t>(ZigZag(numbers[i] - numbers[i - 1]));
      }
      PackInts(numbers.data() + 1, n - 1, out, /*is_unsigned=*/true);
      return true;
    }
    case Encoding::kJsonShred:
      EncodeJsonShred(v, out);
      return true;
    default:
      return false;
  }
}

/// Reads `count` lengths and checks that they fit in the bytes left; returns their sum.
bool ReadLengths(ByteReader& r, size_t count, std::vector<uint32_t>* lengths, size_t* total) {
  lengths->resize(count);
  size_t k = 0;
  uint64_t sum = 0;
  bool ok = true;
  if (!UnpackInts(r, count, [&](const int64_t* c, size_t m) {
        for (size_t i = 0; i < m; ++i) {
          const uint64_t len = static_cast<uint64_t>(c[i]);
          if (len > kMaxRawBlockBytes) ok = false;
          (*lengths)[k + i] = static_cast<uint32_t>(len);
          sum += len;
        }
        k += m;
      })) {
    return false;
  }
  if (!ok || sum > r.remaining()) return false;
  *total = sum;
  return true;
}

Status DecodeStrings(Encoding e, std::string_view data, size_t n, std::vector<std::string>* out) {
  if (n > kMaxBlockRows) return Bad("too many rows in block");
  out->resize(n);
  ByteReader r(data);
  std::vector<uint32_t> lengths;
  switch (e) {
    case Encoding::kPlain: {
      size_t total;
      const uint8_t* p;
      if (!ReadLengths(r, n, &lengths, &total) || !r.Bytes(total, &p)) {
        return Bad("bad string lengths");
      }
      for (size_t i = 0; i < n; ++i) {
        (*out)[i].assign(reinterpret_cast<const char*>(p), lengths[i]);
        p += lengths[i];
      }
      break;
    }
    case Encoding::kConstant: {
      uint64_t len;
      const uint8_t* p;
      if (!r.Varint(&len) || len > r.remaining() || !r.Bytes(len, &p)) return Bad("bad constant");
      for (auto& s : *out) s.assign(reinterpret_cast<const char*>(p), len);
      break;
    }
    case Encoding::kDictionary: {
      uint64_t d;
      size_t total;
      const uint8_t* p;
      if (!r.Varint(&d) || d > n || (n > 0 && d == 0) || !ReadLengths(r, d, &lengths, &total) ||
          !r.Bytes(total, &p)) {
        return Bad("bad string dictionary");
      }
      std::vector<std::string_view> dict(d);
      for (size_t i = 0; i < d; ++i) {
        dict[i] = std::string_view(reinterpret_cast<const char*>(p), lengths[i]);
        p += lengths[i];
      }
      size_t k = 0;
      bool ok = true;
      if (!UnpackInts(r, n,
                      [&](const int64_t* c, size_t m) {
                        for (size_t i = 0; i < m; ++i) {
                          const uint64_t idx = static_cast<uint64_t>(c[i]);
                          if (idx >= d) {
                            ok = false;
                            return;
                          }
                          (*out)[k + i].assign(dict[idx]);
                        }
                        k += m;
                      }) ||
          !ok) {
        return Bad("bad string dictionary indices");
      }
      break;
    }
    case Encoding::kPrefixNumber: {
      uint64_t prefix_len, z;
      const uint8_t* p;
      if (n == 0) break;
      if (!r.Varint(&prefix_len) || prefix_len > r.remaining() || !r.Bytes(prefix_len, &p) ||
          !r.Varint(&z)) {
        return Bad("bad number prefix");
      }
      const std::string_view prefix(reinterpret_cast<const char*>(p), prefix_len);
      int64_t number = UnZigZag(z);
      bool ok = true;
      auto emit = [&](size_t i) {
        if (number < 0 || number > kMaxSuffix) {
          ok = false;
          return;
        }
        char buf[24];
        auto res = std::to_chars(buf, buf + sizeof(buf), number);
        std::string& s = (*out)[i];
        s.assign(prefix);
        s.append(buf, res.ptr);
      };
      emit(0);
      size_t k = 1;
      if (!UnpackInts(
              r, n - 1,
              [&](const int64_t* c, size_t m) {
                for (size_t i = 0; i < m && ok; ++i) {
                  number = static_cast<int64_t>(
                      static_cast<uint64_t>(number) +
                      static_cast<uint64_t>(UnZigZag(static_cast<uint64_t>(c[i]))));
                  emit(k + i);
                }
                k += m;
              },
              /*is_unsigned=*/true) ||
          !ok) {
        return Bad("bad number suffixes");
      }
      break;
    }
    case Encoding::kJsonShred:
      return DecodeJsonShred(data, n, out);
    default:
      return Bad("encoding not valid for a string column");
  }
  if (!r.done()) return Bad("trailing bytes in block");
  return Status::Ok();
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

bool CompressWith(Compression c, std::string_view in, int zstd_level, std::string* out) {
  switch (c) {
    case Compression::kNone:
      out->assign(in);
      return true;
    case Compression::kLz4: {
      if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return false;
      out->resize(LZ4_compressBound(static_cast<int>(in.size())));
      const int n = LZ4_compress_default(in.data(), out->data(), static_cast<int>(in.size()),
                                         static_cast<int>(out->size()));
      if (n <= 0) return false;
      out->resize(n);
      return true;
    }
    case Compression::kZstd: {
      out->resize(ZSTD_compressBound(in.size()));
      const size_t n = ZSTD_compressCCtx(ThreadCCtx(), out->data(), out->size(), in.data(),
                                         in.size(), zstd_level);
      if (ZSTD_isError(n)) return false;
      out->resize(n);
      return true;
    }
  }
  return false;
}

std::vector<Encoding> Candidates(const BlockValues& v) {
  switch (v.kind) {
    case ColumnKind::kInt64:
      return {Encoding::kConstant, Encoding::kFor,           Encoding::kDelta,
              Encoding::kRle,      Encoding::kDiffTimestamp, Encoding::kPlain};
    case ColumnKind::kUInt32:
      return {Encoding::kConstant, Encoding::kFor,        Encoding::kDelta,
              Encoding::kRle,      Encoding::kDictionary, Encoding::kPlain};
    case ColumnKind::kDouble:
      return {Encoding::kConstant, Encoding::kScaled, Encoding::kXor, Encoding::kPlain};
    case ColumnKind::kString:
      if (v.json_objects) {
        return {Encoding::kConstant, Encoding::kPrefixNumber, Encoding::kDictionary,
                Encoding::kPlain, Encoding::kJsonShred};
      }
      return {Encoding::kConstant, Encoding::kPrefixNumber, Encoding::kDictionary,
              Encoding::kPlain};
  }
  return {};
}

}  // namespace

size_t BlockValues::size() const {
  switch (kind) {
    case ColumnKind::kInt64:
      return i64.size();
    case ColumnKind::kUInt32:
      return u32.size();
    case ColumnKind::kDouble:
      return f64.size();
    case ColumnKind::kString:
      return str.size();
  }
  return 0;
}

std::string_view EncodingName(Encoding e) {
  static constexpr std::array<std::string_view, kEncodingCount> kNames = {
      "plain",          "constant", "for", "delta",         "rle",       "dictionary",
      "diff_timestamp", "scaled",   "xor", "prefix_number", "json_shred"};
  const auto i = static_cast<size_t>(e);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

bool EncodingValidFor(Encoding e, ColumnKind kind) {
  switch (e) {
    case Encoding::kPlain:
    case Encoding::kConstant:
      return true;
    case Encoding::kFor:
    case Encoding::kDelta:
    case Encoding::kRle:
      return kind == ColumnKind::kInt64 || kind == ColumnKind::kUInt32;
    case Encoding::kDictionary:
      return kind == ColumnKind::kUInt32 || kind == ColumnKind::kString;
    case Encoding::kDiffTimestamp:
      return kind == ColumnKind::kInt64;
    case Encoding::kScaled:
    case Encoding::kXor:
      return kind == ColumnKind::kDouble;
    case Encoding::kPrefixNumber:
    case Encoding::kJsonShred:
      return kind == ColumnKind::kString;
  }
  return false;
}

bool EncodeWith(Encoding encoding, const BlockValues& values, std::string* out) {
  if (!EncodingValidFor(encoding, values.kind)) return false;
  switch (values.kind) {
    case ColumnKind::kInt64:
      return EncodeInts(encoding, values.i64, values.timestamps, false, out);
    case ColumnKind::kUInt32: {
      std::vector<int64_t> wide(values.u32.begin(), values.u32.end());
      return EncodeInts(encoding, wide, {}, true, out);
    }
    case ColumnKind::kDouble:
      return EncodeDoubles(encoding, values.f64, out);
    case ColumnKind::kString:
      return EncodeStrings(encoding, values.str, out);
  }
  return false;
}

Status EncodeBlock(const BlockValues& values, const CodecOptions& options, EncodedBlock* out) {
  std::vector<Encoding> encodings;
  if (options.force_encoding) {
    encodings.push_back(*options.force_encoding);
  } else {
    encodings = Candidates(values);
  }
  const int level = values.kind == ColumnKind::kString ? kZstdLevelString : kZstdLevelNumeric;
  bool found = false;
  std::string encoded, lz4, zstd;
  for (Encoding e : encodings) {
    encoded.clear();
    if (!EncodeWith(e, values, &encoded)) continue;
    if (encoded.size() > kMaxRawBlockBytes) {
      return InvalidArgument("block larger than 1 GiB");
    }
    Compression c = Compression::kNone;
    const std::string* stored = &encoded;
    if (options.force_compression) {
      c = *options.force_compression;
      if (c != Compression::kNone) {
        if (!CompressWith(c, encoded, level, &zstd)) return Internal("compression failed");
        stored = &zstd;
      }
    } else if (encoded.size() >= kMinCompressBytes) {
      // Compress only when it saves at least 10%; prefer lz4 (faster to decode) unless zstd is
      // more than 10% smaller.
      const bool have_lz4 = CompressWith(Compression::kLz4, encoded, level, &lz4);
      const bool have_zstd = CompressWith(Compression::kZstd, encoded, level, &zstd);
      const size_t limit = encoded.size() - encoded.size() / 10;
      const size_t lz4_size = have_lz4 ? lz4.size() : SIZE_MAX;
      const size_t zstd_size = have_zstd ? zstd.size() : SIZE_MAX;
      if (std::min(lz4_size, zstd_size) <= limit) {
        if (lz4_size <= zstd_size + zstd_size / 10) {
          c = Compression::kLz4;
          stored = &lz4;
        } else {
          c = Compression::kZstd;
          stored = &zstd;
        }
      }
    }
    if (!found || stored->size() < out->data.size()) {
      found = true;
      out->encoding = e;
      out->compression = c;
      out->raw_size = static_cast<uint32_t>(encoded.size());
      out->data.assign(*stored);
    }
  }
  if (!found) {
    const Encoding e = options.force_encoding.value_or(Encoding::kPlain);
    return InvalidArgument(std::string("encoding ") + std::string(EncodingName(e)) +
                           " does not apply to these values");
  }
  return Status::Ok();
}

Status Decompress(Compression compression, std::string_view data, uint32_t raw_size,
                  std::string* out) {
  if (raw_size > kMaxRawBlockBytes) return Bad("raw block size too large");
  switch (compression) {
    case Compression::kNone:
      if (data.size() != raw_size) return Bad("stored size differs from raw size");
      out->assign(data);
      return Status::Ok();
    case Compression::kLz4: {
      // lz4 cannot expand more than 255 times: reject impossible sizes before allocating.
      if (raw_size / 255 > data.size() || data.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
        return Bad("impossible lz4 raw size");
      }
      out->resize(raw_size);
      const int n = LZ4_decompress_safe(data.data(), out->data(), static_cast<int>(data.size()),
                                        static_cast<int>(raw_size));
      if (n < 0 || static_cast<uint32_t>(n) != raw_size) return Bad("lz4 data does not decompress");
      return Status::Ok();
    }
    case Compression::kZstd: {
      const unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
      if (declared != raw_size) return Bad("zstd frame size differs from raw size");
      out->resize(raw_size);
      const size_t n =
          ZSTD_decompressDCtx(ThreadDCtx(), out->data(), out->size(), data.data(), data.size());
      if (ZSTD_isError(n) || n != raw_size) return Bad("zstd data does not decompress");
      return Status::Ok();
    }
  }
  return Bad("unknown compression");
}

Status DecodeInt64(Encoding e, std::string_view data, size_t n, std::span<const int64_t> timestamps,
                   std::vector<int64_t>* out) {
  return DecodeInts<int64_t>(e, data, n, timestamps, out);
}

Status DecodeUInt32(Encoding e, std::string_view data, size_t n, std::vector<uint32_t>* out) {
  if (e == Encoding::kDiffTimestamp) return Bad("encoding not valid for a uint32 column");
  return DecodeInts<uint32_t>(e, data, n, {}, out);
}

Status DecodeDouble(Encoding e, std::string_view data, size_t n, std::vector<double>* out) {
  return DecodeDoubles(e, data, n, out);
}

Status DecodeString(Encoding e, std::string_view data, size_t n, std::vector<std::string>* out) {
  return DecodeStrings(e, data, n, out);
}

}  // namespace ca::store
