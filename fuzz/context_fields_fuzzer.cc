// libFuzzer target for the context scanner of enrichment (ingest/context_fields.h). Arbitrary
// bytes go to ScanContextFields as they are (memory errors only: it may accept or refuse them);
// when they parse as a JSON object, its minified text (what the decoder writes) must scan to
// exactly what ParseContextFields (simdjson) reads of it, or be refused for an escape.

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "ingest/context_fields.h"

namespace {

using ca::ingest::ContextFields;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ContextFields ignored;
  (void)ca::ingest::ScanContextFields(input, &ignored);

  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object context;
  if (parser.parse(input.data(), input.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(context) != simdjson::SUCCESS) {
    return 0;
  }
  const std::string minified = simdjson::minify(root);
  ContextFields scanned;
  if (!ca::ingest::ScanContextFields(minified, &scanned)) {
    Check(minified.find('\\') != std::string::npos, "a minified object without escapes refused");
    return 0;
  }
  static simdjson::dom::parser reference_parser;
  ContextFields parsed;
  Check(ca::ingest::ParseContextFields(minified, reference_parser, &parsed), "a parsed object");
  Check(scanned.present == parsed.present, "the keys present");
  Check(scanned.device_is_object == parsed.device_is_object, "device is an object");
  Check(scanned.ip == parsed.ip, "ip");
  Check(scanned.user_agent == parsed.user_agent, "user agent");
  Check(scanned.page_url == parsed.page_url, "page.url");
  Check(scanned.page_path == parsed.page_path, "page.path");
  Check(scanned.referrer == parsed.referrer, "page.referrer");
  return 0;
}
