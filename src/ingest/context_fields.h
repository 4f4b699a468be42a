#pragma once

#include <cstdint>
#include <string_view>

namespace simdjson::dom {
class parser;
}  // namespace simdjson::dom

namespace ca::ingest {

/// What enrichment reads of an event's context: the texts it derives members from and which of
/// the members it would add the sender set already. Views into the context's text.
struct ContextFields {
  /// Top-level keys whose presence matters (`present` has the bit `1 << key`).
  enum Key : uint32_t {
    kCountry,
    kRegion,
    kBrowser,
    kOs,
    kDevice,
    kDeviceType,
    kCampaign,
    kReferrerHost,
    kChannel,
    kSession,
    kProfile,
  };
  std::string_view ip;          ///< `ip`, when a string
  std::string_view user_agent;  ///< `user_agent`, else `userAgent`, when a string
  std::string_view page_url;    ///< `page.url`
  std::string_view page_path;   ///< `page.path`
  std::string_view referrer;    ///< `page.referrer`
  uint32_t present = 0;
  bool device_is_object = false;

  bool has(Key key) const { return (present >> key) & 1; }
};

/// Reads ContextFields from a context as the decoder writes it: a minified JSON object. Returns
/// false, with `*out` unspecified, when the text holds a backslash (its strings would need
/// unescaping) or is not such an object; the caller then reads it with a JSON parser. Of keys
/// given twice, the last counts, as with the decoder. Strings must not contain a raw '"' (JSON
/// has none unescaped).
bool ScanContextFields(std::string_view context_json, ContextFields* out);

/// The same read with a JSON parser, for any JSON object (escapes too): the views are into
/// `parser`'s buffers, valid until it parses again. False when the text is not an object.
bool ParseContextFields(std::string_view context_json, simdjson::dom::parser& parser,
                        ContextFields* out);

}  // namespace ca::ingest
