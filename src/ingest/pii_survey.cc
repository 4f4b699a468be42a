#include "ingest/pii_survey.h"

#include <emmintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace ca::ingest {
namespace {

enum ByteClass : uint8_t { kPlain, kDigit, kSeparator, kAt, kQuote, kBackslash };

constexpr std::array<uint8_t, 256> kByteClass = [] {
  std::array<uint8_t, 256> classes{};
  for (int c = '0'; c <= '9'; ++c) classes[c] = kDigit;
  for (char c : {' ', '-', '(', ')', '+'}) classes[static_cast<unsigned char>(c)] = kSeparator;
  classes['@'] = kAt;
  classes['"'] = kQuote;
  classes['\\'] = kBackslash;
  return classes;
}();

unsigned Mask(__m128i v, char c) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}

}  // namespace

StringSurvey SurveyStringBytewise(const char* p, const char* end) {
  StringSurvey survey;
  int run = 0;  // digits since the last plain byte
  bool decorated = false;
  while (true) {
    // Most bytes are plain: skipped in a tight loop; any of them ends a run of digits.
    const char* const plain = p;
    while (p < end && kByteClass[static_cast<unsigned char>(*p)] == kPlain) ++p;
    if (p != plain) {
      run = 0;
      decorated = false;
    }
    if (p >= end) return StringSurvey();
    const uint8_t k = kByteClass[static_cast<unsigned char>(*p)];
    if (k == kQuote) {
      survey.close = p;
      return survey;
    } else if (k == kDigit) {
      ++run;
      survey.may_have_pii |= run >= 15 || (run >= 7 && decorated);
    } else if (k == kSeparator) {
      decorated |= run > 0 || *p == '+' || *p == '(';
    } else if (k == kAt) {
      survey.may_have_pii = true;
    } else {  // a backslash: its escape sequence is skipped
      if (end - p < 2) return StringSurvey();
      survey.escaped = true;
      ++p;
    }
    ++p;
  }
}

StringSurvey SurveyString(const char* const begin, const char* const end) {
  // Per block of 16 bytes, bit masks of the bytes up to the closing quote: an '@' settles the
  // verdict; digits can only matter in 7 bytes in a row that are digits, separators or '@'
  // (nothing else keeps a run of digits going), so without such a row (across blocks too) the
  // string needs no closer look; with one, or with an escape, it gets the bytewise survey.
  const __m128i below_digits = _mm_set1_epi8('0' - 1);
  const __m128i above_digits = _mm_set1_epi8('9' + 1);
  bool at = false;
  unsigned previous = 0;  // the previous block's row mask (bits 0..15)
  const char* p = begin;
  char tail[16];
  while (p < end) {
    __m128i v;
    unsigned valid = 0xFFFF;
    if (end - p >= 16) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    } else {
      // The last bytes, padded with NULs (plain, and no quote).
      std::memset(tail, 0, sizeof tail);
      std::memcpy(tail, p, end - p);
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tail));
      valid = (1u << (end - p)) - 1;
    }
    const unsigned quote = Mask(v, '"') & valid;
    const unsigned before_quote = quote != 0 ? (quote & -quote) - 1 : valid;
    if (Mask(v, '\\') & before_quote) return SurveyStringBytewise(begin, end);
    const __m128i digit_bytes =
        _mm_and_si128(_mm_cmpgt_epi8(v, below_digits), _mm_cmplt_epi8(v, above_digits));
    const __m128i separator_bytes = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('-'))),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('(')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8(')'))),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('+'))));
    const __m128i at_bytes = _mm_cmpeq_epi8(v, _mm_set1_epi8('@'));
    const unsigned ats = static_cast<unsigned>(_mm_movemask_epi8(at_bytes));
    const unsigned row = static_cast<unsigned>(_mm_movemask_epi8(
                             _mm_or_si128(_mm_or_si128(digit_bytes, separator_bytes), at_bytes))) &
                         before_quote;
    at |= (ats & before_quote) != 0;
    // Bit i of `seven` is set when bits i..i+6 of the two blocks' rows are; a row ending in this
    // block has i >= 10 (rows wholly in the previous block were looked at there).
    const uint32_t both = row << 16 | previous;
    const uint32_t two = both & both >> 1;
    const uint32_t four = two & two >> 2;
    const uint32_t seven = four & four >> 3;
    if (seven >> 10) return SurveyStringBytewise(begin, end);
    if (quote != 0) {
      StringSurvey survey;
      survey.close = p + __builtin_ctz(quote);
      survey.may_have_pii = at;
      return survey;
    }
    previous = row;
    p += 16;
  }
  return StringSurvey();
}

}  // namespace ca::ingest
