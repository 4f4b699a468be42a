// libFuzzer target for the context scanner of enrichment (ingest/context_fields.h). Arbitrary
// bytes go to ScanContextFields as they are (memory errors only: it may accept or refuse them);
// when they parse as a JSON object, its minified text (what the decoder writes) must scan to
// exactly what a JSON parser reads of it, or be refused for an escape.

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

std::string_view StringAt(simdjson::dom::object o, std::string_view key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
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
  using K = ContextFields;
  const std::pair<std::string_view, K::Key> keys[] = {
      {"country", K::kCountry},   {"region", K::kRegion},
      {"browser", K::kBrowser},   {"os", K::kOs},
      {"device", K::kDevice},     {"device_type", K::kDeviceType},
      {"campaign", K::kCampaign}, {"referrer_host", K::kReferrerHost},
      {"channel", K::kChannel},   {"session", K::kSession},
      {"profile", K::kProfile}};
  for (const auto& [key, bit] : keys) {
    Check(scanned.has(bit) == (context[key].error() == simdjson::SUCCESS), "a key's presence");
  }
  simdjson::dom::element device;
  Check(scanned.device_is_object ==
            (context["device"].get(device) == simdjson::SUCCESS && device.is_object()),
        "device is an object");
  Check(scanned.ip == StringAt(context, "ip"), "ip");
  std::string_view user_agent = StringAt(context, "user_agent");
  if (user_agent.empty()) user_agent = StringAt(context, "userAgent");
  Check(scanned.user_agent == user_agent, "user agent");
  simdjson::dom::object page;
  const bool has_page = context["page"].get_object().get(page) == simdjson::SUCCESS;
  Check(scanned.page_url == (has_page ? StringAt(page, "url") : ""), "page.url");
  Check(scanned.page_path == (has_page ? StringAt(page, "path") : ""), "page.path");
  Check(scanned.referrer == (has_page ? StringAt(page, "referrer") : ""), "page.referrer");
  return 0;
}
