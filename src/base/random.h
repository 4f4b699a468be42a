#pragma once

#include <cstddef>
#include <string>

namespace ca {

/// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes), hex-encoded (2n chars).
std::string RandomHex(size_t n);

/// `n` bytes from the CSPRNG, base64url-encoded without padding.
std::string RandomBase64Url(size_t n);

/// A random RFC 9562 UUID version 4, lower-case with dashes.
std::string RandomUuid();

}  // namespace ca
