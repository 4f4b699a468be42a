#pragma once

namespace ca::ingest {

/// What the privacy stage's quick survey learns of one string (a key or a value) of minified
/// JSON, before deciding whether an object needs rewriting (PiiScrubber::Scrub).
struct StringSurvey {
  /// The closing quote; nullptr when the text ends first.
  const char* close = nullptr;
  /// The string holds an escape sequence (which could hide anything).
  bool escaped = false;
  /// The string may hold an e-mail address, a card or a phone number: an '@'; or 7 digits with
  /// nothing but separators (' ', '-', '(', ')', '+') between them and a separator, '+' or '('
  /// among them; or 15 digits in one run. (A bare run of fewer digits is an id or a version,
  /// "Gecko/20100101".) Looser than the scrubber's own rules: a survey misses nothing.
  bool may_have_pii = false;
};

/// Surveys the string whose text starts at `p` (just after its opening quote), up to `end`.
/// 16 bytes at a time (SSE2), going a byte at a time only through the rare strings with an
/// escape or 7 digits and separators in a row.
StringSurvey SurveyString(const char* p, const char* end);

/// The same, a byte at a time: the reference SurveyString is tested against.
StringSurvey SurveyStringBytewise(const char* p, const char* end);

}  // namespace ca::ingest
