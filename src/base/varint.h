#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ca {

/// LEB128 unsigned varints, as used by the WAL event records, part files and dictionaries: seven
/// bits per byte, least significant first, the high bit set on every byte but the last.

/// Appends `v` (1 to 10 bytes) to `*out`.
inline void PutVarint(uint64_t v, std::string* out) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

/// Reads a varint from the front of `*in` and drops its bytes. False (and `*in` unspecified)
/// when the input ends inside it or it does not fit in 64 bits.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint64_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && b > 1) return false;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace ca
