#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ca::crc32c {

/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and leveldb. Written here because Debian 12 ships
/// no crc32c library; uses the SSE4.2 instruction when the CPU has it (three streams at once
/// over long buffers), a table otherwise. `Extend(Extend(0, a), b) == Value(a + b)`.
uint32_t Extend(uint32_t crc, const void* data, size_t n);

/// The same with the table, a byte at a time: the reference Extend is tested against.
uint32_t ExtendBytewise(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

}  // namespace ca::crc32c
