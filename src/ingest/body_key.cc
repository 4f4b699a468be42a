#include "ingest/body_key.h"

#include <simdjson.h>

namespace ca::ingest {

std::string ExtractBodyWriteKey(std::string_view body) {
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return {};
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return {};
  std::string_view key;
  if (object.find_field_unordered("write_key").get_string().get(key) != simdjson::SUCCESS)
    return {};
  return std::string(key);
}

}  // namespace ca::ingest
