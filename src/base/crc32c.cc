#include "base/crc32c.h"

#include <array>
#include <cstring>

namespace ca::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected 0x1EDC6F41

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint64_t Crc8(uint64_t c, const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_ia32_crc32di(c, v);
}

// What `length` more zero bytes do to a CRC register: a linear map of its 32 bits, kept as four
// tables of 256, one per register byte.
struct Shift {
  uint32_t table[4][256];

  __attribute__((target("sse4.2"))) explicit Shift(size_t length) {
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint64_t c = b << (8 * k);
        for (size_t i = 0; i < length / 8; ++i) c = __builtin_ia32_crc32di(c, 0);
        table[k][b] = static_cast<uint32_t>(c);
      }
    }
  }
  uint32_t operator()(uint32_t c) const {
    return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^ table[2][(c >> 16) & 0xff] ^
           table[3][c >> 24];
  }
};

// Three lanes of `kLane` bytes each at once: the instruction takes 3 cycles and can start one
// per cycle, so one lane alone leaves two thirds of it idle. The lanes' registers are joined by
// Shift (the register of a + b is Shift(register of a, |b|) xor the register of b from zero).
template <size_t kLane>
__attribute__((target("sse4.2"))) uint64_t ThreeLanes(uint64_t c, const uint8_t* p,
                                                      const Shift& shift) {
  uint64_t c1 = 0, c2 = 0;
  for (size_t i = 0; i < kLane; i += 8) {
    c = Crc8(c, p + i);
    c1 = Crc8(c1, p + kLane + i);
    c2 = Crc8(c2, p + 2 * kLane + i);
  }
  c = shift(static_cast<uint32_t>(c)) ^ c1;
  return shift(static_cast<uint32_t>(c)) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  constexpr size_t kLong = 1024, kShort = 128;
  static const Shift kLongShift(kLong), kShortShift(kShort);
  uint64_t c = static_cast<uint32_t>(~crc);
  for (; n >= 3 * kLong; p += 3 * kLong, n -= 3 * kLong) c = ThreeLanes<kLong>(c, p, kLongShift);
  for (; n >= 3 * kShort; p += 3 * kShort, n -= 3 * kShort) {
    c = ThreeLanes<kShort>(c, p, kShortShift);
  }
  for (; n >= 8; p += 8, n -= 8) c = Crc8(c, p);
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p++);
    --n;
  }
  return ~c32;
}

bool HasSse42() { return __builtin_cpu_supports("sse4.2"); }
#endif

}  // namespace

uint32_t ExtendBytewise(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  static const bool kHardware = HasSse42();
  if (kHardware) return ExtendSse42(crc, p, n);
#endif
  return ExtendBytewise(crc, p, n);
}

}  // namespace ca::crc32c
