#include "store/manifest.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "base/crc32c.h"

namespace ca::store {
namespace {

// "CAMANI01", a little-endian uint32 CRC32C of the body, then the body: a JSON object.
constexpr std::string_view kMagic = "CAMANI01";
constexpr int kVersion = 1;

std::string ManifestPath(const std::string& dir) { return io::JoinPath(dir, "MANIFEST"); }

bool SafeRelativePath(const std::string& tenant, const std::string& path) {
  std::string prefix = tenant + "/parts/";
  if (path.rfind(prefix, 0) != 0) return false;
  std::string_view file = std::string_view(path).substr(prefix.size());
  return !file.empty() && file.find('/') == std::string_view::npos && file != "." && file != ".." &&
         tenant.find('/') == std::string::npos && !tenant.empty() && tenant[0] != '.';
}

}  // namespace

Result<ManifestData> ReadManifest(io::Env* env, const std::string& dir) {
  const std::string path = ManifestPath(dir);
  if (!env->FileExists(path)) return ManifestData{};
  CA_ASSIGN_OR_RETURN(std::string data, io::ReadFileToString(env, path));
  auto bad = [&](std::string_view what) {
    return Corruption("store manifest " + path + ": " + std::string(what));
  };
  if (data.size() < kMagic.size() + 4 || std::string_view(data).substr(0, 8) != kMagic) {
    return bad("bad magic");
  }
  uint32_t crc;
  std::memcpy(&crc, data.data() + 8, 4);
  std::string_view body = std::string_view(data).substr(12);
  if (crc32c::Value(body) != crc) return bad("checksum mismatch");
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("version") || !json["version"].is_number_integer()) {
    return bad("not a manifest object");
  }
  if (json["version"].get<int>() != kVersion) {
    return bad("unsupported version " + json["version"].dump());
  }
  ManifestData m;
  const auto& lsn = json.value("checkpoint_lsn", nlohmann::json());
  const auto& next = json.value("next_part_id", nlohmann::json());
  const auto& parts = json.value("parts", nlohmann::json());
  if (!lsn.is_number_unsigned() || !next.is_number_unsigned() || !parts.is_array()) {
    return bad("missing checkpoint_lsn, next_part_id or parts");
  }
  m.checkpoint_lsn = lsn.get<uint64_t>();
  m.next_part_id = next.get<uint64_t>();
  for (const auto& p : parts) {
    if (!p.is_object() || !p.value("tenant", nlohmann::json()).is_string() ||
        !p.value("path", nlohmann::json()).is_string()) {
      return bad("bad part entry");
    }
    ManifestData::PartEntry e{p["tenant"].get<std::string>(), p["path"].get<std::string>()};
    if (!SafeRelativePath(e.tenant, e.path)) return bad("bad part path " + e.path);
    m.parts.push_back(std::move(e));
  }
  const auto& tombstones = json.value("tombstones", nlohmann::json::array());
  if (!tombstones.is_array()) return bad("tombstones is not an array");
  for (const auto& t : tombstones) {
    ManifestData::Tombstone d;
    if (!t.is_object() || !t.value("receipt_id", nlohmann::json()).is_string() ||
        !t.value("tenant", nlohmann::json()).is_string() ||
        !t.value("user_id", nlohmann::json()).is_string() ||
        !t.value("deleted_at_ms", nlohmann::json()).is_number_integer() ||
        !t.value("masked_events", nlohmann::json()).is_number_unsigned() ||
        !t.value("removed_at_ms", nlohmann::json()).is_number_integer()) {
      return bad("bad tombstone entry");
    }
    d.receipt_id = t["receipt_id"].get<std::string>();
    d.tenant = t["tenant"].get<std::string>();
    d.user_id = t["user_id"].get<std::string>();
    d.deleted_at_ms = t["deleted_at_ms"].get<int64_t>();
    d.masked_events = t["masked_events"].get<uint64_t>();
    d.removed_at_ms = t["removed_at_ms"].get<int64_t>();
    m.tombstones.push_back(std::move(d));
  }
  return m;
}

Status WriteManifest(io::Env* env, const std::string& dir, const ManifestData& manifest) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : manifest.parts) parts.push_back({{"tenant", p.tenant}, {"path", p.path}});
  nlohmann::json tombstones = nlohmann::json::array();
  for (const auto& t : manifest.tombstones) {
    tombstones.push_back({{"receipt_id", t.receipt_id},
                          {"tenant", t.tenant},
                          {"user_id", t.user_id},
                          {"deleted_at_ms", t.deleted_at_ms},
                          {"masked_events", t.masked_events},
                          {"removed_at_ms", t.removed_at_ms}});
  }
  nlohmann::json json = {{"version", kVersion},
                         {"checkpoint_lsn", manifest.checkpoint_lsn},
                         {"next_part_id", manifest.next_part_id},
                         {"parts", parts},
                         {"tombstones", tombstones}};
  std::string body = json.dump();
  std::string data(kMagic);
  uint32_t crc = crc32c::Value(body);
  data.append(reinterpret_cast<const char*>(&crc), 4);
  data += body;
  return io::WriteFileAtomically(env, ManifestPath(dir), data);
}

}  // namespace ca::store
