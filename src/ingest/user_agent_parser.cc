#include "ingest/user_agent_parser.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace ca::ingest {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
constexpr int kMaxGroups = 9;                                  // $1..$9

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/// The length of the valid UTF-8 sequence starting at `s[i]`, 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = at(0);
  if (c < 0x80) return 1;
  const size_t left = s.size() - i;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && IsContinuation(at(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !IsContinuation(at(1)) || !IsContinuation(at(2))) return 0;
    if (c == 0xE0 && at(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && at(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !IsContinuation(at(1)) || !IsContinuation(at(2)) || !IsContinuation(at(3))) {
      return 0;
    }
    if (c == 0xF0 && at(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && at(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool ContainsIgnoringCase(std::string_view text, std::string_view word) {
  const auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return std::search(text.begin(), text.end(), word.begin(), word.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

/// The captures of one match: groups[1..kMaxGroups]; a group that did not take part or matched
/// nothing is empty.
struct Captures {
  std::array<re2::StringPiece, kMaxGroups + 1> groups;

  std::optional<std::string> Group(int i) const {
    if (i < 1 || i > kMaxGroups || groups[i].empty()) return std::nullopt;
    return std::string(groups[i].data(), groups[i].size());
  }

  /// `repl` with every `$1`..`$9` replaced by its capture ("" for none; `$0` is also ""),
  /// trimmed; nullopt when that leaves nothing.
  std::optional<std::string> Expand(std::string_view repl) const {
    std::string out;
    for (size_t i = 0; i < repl.size(); ++i) {
      if (repl[i] == '$' && i + 1 < repl.size() && repl[i + 1] >= '0' && repl[i + 1] <= '9') {
        const int g = repl[i + 1] - '0';
        if (g >= 1 && !groups[g].empty()) out.append(groups[g].data(), groups[g].size());
        ++i;
        continue;
      }
      out.push_back(repl[i]);
    }
    const std::string_view trimmed = Trim(out);
    if (trimmed.empty()) return std::nullopt;
    return std::string(trimmed);
  }

  /// The replacement when the rule has one, else capture `group`.
  std::optional<std::string> Field(const std::optional<std::string>& repl, int group) const {
    return repl ? Expand(*repl) : Group(group);
  }
};

/// One entry of a list of regexes.yaml. `repl` holds the replacement templates in the order of
/// the list's fields (ListSpec::fields).
struct Rule {
  const RE2* re = nullptr;  // owned by the list's FilteredRE2
  int groups = 0;           // capturing groups we read, at most kMaxGroups
  std::array<std::optional<std::string>, 5> repl;
};

struct ListSpec {
  std::string_view name;
  std::array<std::string_view, 5> fields;  // replacement keys; "" for none
};
constexpr ListSpec kUserAgentList = {
    "user_agent_parsers",
    {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"}};
constexpr ListSpec kOsList = {"os_parsers",
                              {"os_replacement", "os_v1_replacement", "os_v2_replacement",
                               "os_v3_replacement", "os_v4_replacement"}};
constexpr ListSpec kDeviceList = {
    "device_parsers", {"device_replacement", "brand_replacement", "model_replacement", "", ""}};

/// Atoms shorter than this are not required by the prefilter (a regex with only shorter literals
/// is always a candidate). 2 and 3 measured alike on uap-core's tests; 4 is slower.
constexpr int kMinAtomLength = 2;

/// The compiled regexes of one list and their prefilter. RE2's FilteredRE2 extracts from every
/// regex the literal strings ("atoms") a match must contain; one RE2::Set of all atoms, run over
/// the lower-cased text, finds those present in one pass; the regexes whose atoms are present,
/// plus those without atoms, are the candidates, tried in list order.
class RuleList {
 public:
  re2::FilteredRE2 filter{kMinAtomLength};
  std::vector<Rule> rules;
  std::unique_ptr<RE2::Set> atom_set;  // null: no atoms (every regex is a candidate)
  bool prefiltered = false;            // false: the prefilter could not be built
  size_t yaml_size = 0;

  /// The first rule (in YAML order) matching `text`, with its captures in `*captures`; null
  /// when none does. Sets `*fell_back` when the atom set ran out of memory and every regex was
  /// tried.
  const Rule* Find(std::string_view text, Captures* captures, bool* fell_back) const {
    const re2::StringPiece piece(text.data(), text.size());
    if (prefiltered) {
      thread_local std::string lower;
      thread_local std::vector<int> atoms;
      thread_local std::vector<int> candidates;
      lower.assign(text);
      for (char& c : lower) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      atoms.clear();
      RE2::Set::ErrorInfo error{RE2::Set::kNoError};
      if (atom_set == nullptr || atom_set->Match(lower, &atoms, &error) ||
          error.kind == RE2::Set::kNoError) {
        candidates.clear();
        filter.AllPotentials(atoms, &candidates);  // sorted, includes the atom-less regexes
        for (int candidate : candidates) {
          const Rule& rule = rules[static_cast<size_t>(candidate)];
          if (Run(rule, piece, captures)) return &rule;
        }
        return nullptr;
      }
      *fell_back = true;
    }
    for (const Rule& rule : rules) {
      if (Run(rule, piece, captures)) return &rule;
    }
    return nullptr;
  }

 private:
  /// Whether `rule` matches, then its captures. The first, cheaper test (the DFA stops at the
  /// first match; no reverse scan, no capture engine) weeds out most candidates.
  static bool Run(const Rule& rule, const re2::StringPiece& text, Captures* captures) {
    if (!rule.re->Match(text, 0, text.size(), RE2::UNANCHORED, nullptr, 0)) return false;
    captures->groups.fill(re2::StringPiece());
    return rule.re->Match(text, 0, text.size(), RE2::UNANCHORED, captures->groups.data(),
                          rule.groups + 1);
  }
};

RE2::Options BaseOptions() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  return options;
}

/// A YAML scalar as a string; nullopt for null, an empty string or a non-scalar.
std::optional<std::string> ScalarOf(const YAML::Node& node) {
  if (!node || !node.IsScalar()) return std::nullopt;
  std::string s = node.as<std::string>();
  if (s.empty()) return std::nullopt;
  return s;
}

Status CompileList(const YAML::Node& root, const ListSpec& spec,
                   const UserAgentParser::Options& parser_options, RuleList* list,
                   std::vector<UserAgentParser::SkippedPattern>* skipped) {
  const YAML::Node node = root[std::string(spec.name)];
  if (!node || node.IsNull()) return Status::Ok();
  if (!node.IsSequence()) {
    return {ErrorCode::kConfigInvalid, std::string(spec.name) + " is not a list"};
  }
  list->yaml_size = node.size();
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node entry = node[i];
    const std::string where = std::string(spec.name) + "[" + std::to_string(i) + "]";
    if (!entry.IsMap()) return {ErrorCode::kConfigInvalid, where + " is not a mapping"};
    const std::optional<std::string> regex = ScalarOf(entry["regex"]);
    if (!regex) return {ErrorCode::kConfigInvalid, where + " has no regex"};
    RE2::Options options = BaseOptions();
    options.set_max_mem(parser_options.regex_max_mem);
    const std::optional<std::string> flag = ScalarOf(entry["regex_flag"]);
    if (flag && *flag == "i") options.set_case_sensitive(false);

    int id = -1;
    if (list->filter.Add(*regex, options, &id) != RE2::NoError) {
      const RE2 rejected(*regex, options);  // for its message
      skipped->push_back({std::string(spec.name), i, *regex, rejected.error()});
      continue;
    }
    // FilteredRE2 numbers what it accepts from 0; candidates are indices into `rules`.
    if (id != static_cast<int>(list->rules.size())) return Internal(where + ": FilteredRE2 id");
    Rule rule;
    rule.re = &list->filter.GetRE2(id);
    rule.groups = std::min(rule.re->NumberOfCapturingGroups(), kMaxGroups);
    for (size_t f = 0; f < spec.fields.size(); ++f) {
      if (!spec.fields[f].empty()) rule.repl[f] = ScalarOf(entry[std::string(spec.fields[f])]);
    }
    list->rules.push_back(std::move(rule));
  }
  if (list->rules.empty()) return Status::Ok();

  std::vector<std::string> atoms;
  list->filter.Compile(&atoms);
  if (atoms.empty()) {
    list->prefiltered = true;
    return Status::Ok();
  }
  // Atoms are lower-case literals; the text is lower-cased byte by byte before matching.
  RE2::Options atom_options = BaseOptions();
  atom_options.set_encoding(RE2::Options::EncodingLatin1);
  atom_options.set_literal(true);
  atom_options.set_max_mem(parser_options.atom_set_max_mem);
  auto atom_set = std::make_unique<RE2::Set>(atom_options, RE2::UNANCHORED);
  for (size_t a = 0; a < atoms.size(); ++a) {
    // The set must number the atoms as FilteredRE2 does.
    if (atom_set->Add(atoms[a], nullptr) != static_cast<int>(a)) return Status::Ok();
  }
  if (!atom_set->Compile()) return Status::Ok();
  list->atom_set = std::move(atom_set);
  list->prefiltered = true;
  return Status::Ok();
}

bool IsMobileOs(std::string_view os) {
  static constexpr std::string_view kMobile[] = {"iOS",
                                                 "Android",
                                                 "Windows Phone",
                                                 "Windows Mobile",
                                                 "BlackBerry OS",
                                                 "KaiOS",
                                                 "Firefox OS",
                                                 "Tizen",
                                                 "webOS",
                                                 "Bada",
                                                 "Sailfish",
                                                 "MeeGo",
                                                 "Maemo",
                                                 "Nokia Series 40",
                                                 "Nokia Series 30 Plus",
                                                 "Brew MP",
                                                 "HarmonyOS",
                                                 "WatchOS",
                                                 "Symbian OS",
                                                 "Symbian^3",
                                                 "Symbian^3 Anna",
                                                 "Symbian^3 Belle"};
  return std::find(std::begin(kMobile), std::end(kMobile), os) != std::end(kMobile);
}

bool IsDesktopOs(std::string_view os) {
  if (os.starts_with("Windows")) {
    return !os.starts_with("Windows Phone") && !os.starts_with("Windows Mobile") &&
           !os.starts_with("Windows CE");
  }
  static constexpr std::string_view kDesktop[] = {
      "Mac OS X",  "Mac OS",   "Chrome OS",  "Linux",   "Ubuntu",  "Kubuntu",  "Xubuntu", "Lubuntu",
      "Debian",    "Fedora",   "Red Hat",    "CentOS",  "SUSE",    "openSUSE", "Mint",    "Gentoo",
      "Slackware", "Mandriva", "Arch Linux", "FreeBSD", "OpenBSD", "NetBSD",   "Solaris", "SunOS"};
  return std::find(std::begin(kDesktop), std::end(kDesktop), os) != std::end(kDesktop);
}

/// A sharded LRU map from normalised user agents to their parse: one shard per 64 entries, at
/// most 16, each with its own mutex and an equal share of the capacity.
class ParseCache {
 public:
  explicit ParseCache(size_t capacity)
      : shards_(std::clamp<size_t>(capacity / 64, capacity == 0 ? 0 : 1, 16)) {
    for (size_t i = 0; i < shards_.size(); ++i) {
      shards_[i].capacity = capacity / shards_.size() + (i < capacity % shards_.size() ? 1 : 0);
    }
  }

  bool enabled() const { return !shards_.empty(); }

  std::optional<UserAgent> Get(std::string_view key) {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) {
      ++shard.misses;
      return std::nullopt;
    }
    ++shard.hits;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return it->second->second;
  }

  void Put(std::string key, const UserAgent& value) {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    if (const auto it = shard.index.find(key); it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);  // raced with another miss
      return;
    }
    if (shard.lru.size() >= shard.capacity) {
      shard.index.erase(shard.lru.back().first);
      shard.lru.pop_back();
    }
    shard.lru.emplace_front(std::move(key), value);
    shard.index.emplace(shard.lru.front().first, shard.lru.begin());
  }

  void AddStats(UserAgentParser::Stats* stats) {
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      stats->cache_hits += shard.hits;
      stats->cache_misses += shard.misses;
      stats->cache_entries += shard.lru.size();
    }
  }

 private:
  using Entry = std::pair<std::string, UserAgent>;
  struct Shard {
    std::mutex mu;
    size_t capacity = 0;
    // Most recently used first. Guarded by mu, as are the fields below.
    std::list<Entry> lru;
    // Keys view the strings of `lru`, whose nodes never move.
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };

  Shard& ShardOf(std::string_view key) {
    // Mixed, then the high bits: the shard's map picks its buckets from the low bits of the hash.
    const uint64_t h = std::hash<std::string_view>()(key) * uint64_t{0x9E3779B97F4A7C15};
    return shards_[(h >> 32) % shards_.size()];
  }

  std::vector<Shard> shards_;
};

}  // namespace

struct UserAgentParser::Impl {
  explicit Impl(const Options& o) : options(o), cache(o.cache_capacity) {}

  Options options;
  RuleList browsers;
  RuleList oses;
  RuleList devices;
  std::vector<SkippedPattern> skipped;
  mutable ParseCache cache;
  mutable std::atomic<uint64_t> prefilter_fallbacks{0};

  UserAgent ParseNormalized(std::string_view ua) const {
    UserAgent out;
    Captures m;
    bool fell_back = false;
    if (const Rule* r = browsers.Find(ua, &m, &fell_back)) {
      out.browser.family = m.Field(r->repl[0], 1).value_or("Other");
      out.browser.major = m.Field(r->repl[1], 2);
      out.browser.minor = m.Field(r->repl[2], 3);
      out.browser.patch = m.Field(r->repl[3], 4);
      out.browser.patch_minor = m.Field(r->repl[4], 5);
    }
    if (const Rule* r = oses.Find(ua, &m, &fell_back)) {
      out.os.family = m.Field(r->repl[0], 1).value_or("Other");
      out.os.major = m.Field(r->repl[1], 2);
      out.os.minor = m.Field(r->repl[2], 3);
      out.os.patch = m.Field(r->repl[3], 4);
      out.os.patch_minor = m.Field(r->repl[4], 5);
    }
    if (const Rule* r = devices.Find(ua, &m, &fell_back)) {
      out.device.family = m.Field(r->repl[0], 1).value_or("Other");
      out.device.brand = r->repl[1] ? m.Expand(*r->repl[1]) : std::nullopt;
      out.device.model = m.Field(r->repl[2], 1);
    }
    out.device_type = std::string(DeviceTypeOf(out, ua));
    if (fell_back) prefilter_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
};

std::string_view DeviceTypeOf(const UserAgent& parsed, std::string_view ua) {
  const UserAgent::Device& device = parsed.device;
  const std::string_view os = parsed.os.family;
  const auto ua_says = [&](std::string_view word) {
    return ua.find(word) != std::string_view::npos;
  };
  const auto device_says = [&](std::string_view word) {
    return ContainsIgnoringCase(device.family, word) ||
           (device.brand && ContainsIgnoringCase(*device.brand, word)) ||
           (device.model && ContainsIgnoringCase(*device.model, word));
  };
  if (device.family == "Spider") return kDeviceTypeBot;

  for (std::string_view word : {"TV", "PlayStation", "Xbox", "Nintendo"}) {
    if (ua_says(word) || device.family.find(word) != std::string::npos) return kDeviceTypeOther;
  }
  if (os == "tvOS" || os == "ATV OS X" || os == "Chromecast") return kDeviceTypeOther;

  if (device_says("iPad") || device_says("Kindle") || device_says("Tablet") ||
      device_says("PlayBook") || os == "BlackBerry Tablet OS" ||
      (os == "Android" && ua.starts_with("Mozilla/") && !ua_says("Mobile"))) {
    return kDeviceTypeTablet;
  }
  if (IsMobileOs(os) || ua_says("Mobi") || ua_says("MIDP") ||
      (device.brand && device.family != "Mac")) {
    return kDeviceTypeMobile;
  }
  if ((device.family == "Other" || device.family == "Mac") && IsDesktopOs(os)) {
    return kDeviceTypeDesktop;
  }
  return kDeviceTypeOther;
}

UserAgentParser::UserAgentParser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UserAgentParser::~UserAgentParser() = default;

Result<std::unique_ptr<UserAgentParser>> UserAgentParser::Load(
    const std::string& regexes_yaml_path) {
  return Load(regexes_yaml_path, Options());
}

Result<std::unique_ptr<UserAgentParser>> UserAgentParser::Load(const std::string& regexes_yaml_path,
                                                               const Options& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(regexes_yaml_path, ec)) {
    return NotFound("user agent regexes: no such file: " + regexes_yaml_path);
  }
  std::ifstream in(regexes_yaml_path, std::ios::binary);
  if (!in.is_open()) return IoError("user agent regexes: cannot open " + regexes_yaml_path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return IoError("user agent regexes: cannot read " + regexes_yaml_path);
  Result<std::unique_ptr<UserAgentParser>> parser = FromYaml(text, options);
  if (!parser.ok()) return parser.status().WithContext(regexes_yaml_path);
  return parser;
}

Result<std::unique_ptr<UserAgentParser>> UserAgentParser::FromYaml(std::string_view yaml_text,
                                                                   const Options& options) {
  auto impl = std::make_unique<Impl>(options);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsMap()) {
      return Status(ErrorCode::kConfigInvalid, "user agent regexes: not a YAML mapping");
    }
    CA_RETURN_IF_ERROR(CompileList(root, kUserAgentList, options, &impl->browsers, &impl->skipped));
    CA_RETURN_IF_ERROR(CompileList(root, kOsList, options, &impl->oses, &impl->skipped));
    CA_RETURN_IF_ERROR(CompileList(root, kDeviceList, options, &impl->devices, &impl->skipped));
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kConfigInvalid, std::string("user agent regexes: ") + e.what());
  }
  return std::unique_ptr<UserAgentParser>(new UserAgentParser(std::move(impl)));
}

std::string UserAgentParser::Normalize(std::string_view ua, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(ua.size(), max_bytes));
  for (size_t i = 0; i < ua.size();) {
    const size_t n = Utf8SequenceLength(ua, i);
    const std::string_view piece = n > 0 ? ua.substr(i, n) : kReplacementChar;
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += n > 0 ? n : 1;
  }
  return out;
}

UserAgent UserAgentParser::Parse(std::string_view ua) const {
  std::string key = Normalize(ua, impl_->options.max_ua_bytes);
  if (!impl_->cache.enabled()) return impl_->ParseNormalized(key);
  if (std::optional<UserAgent> hit = impl_->cache.Get(key)) return *std::move(hit);
  UserAgent parsed = impl_->ParseNormalized(key);
  impl_->cache.Put(std::move(key), parsed);
  return parsed;
}

UserAgent UserAgentParser::ParseUncached(std::string_view ua) const {
  return impl_->ParseNormalized(Normalize(ua, impl_->options.max_ua_bytes));
}

size_t UserAgentParser::skipped_patterns() const { return impl_->skipped.size(); }

const std::vector<UserAgentParser::SkippedPattern>& UserAgentParser::skipped() const {
  return impl_->skipped;
}

std::string UserAgentParser::SkippedPatternsSummary() const {
  if (impl_->skipped.empty()) return "";
  const size_t total = impl_->browsers.yaml_size + impl_->oses.yaml_size + impl_->devices.yaml_size;
  std::string out = "user agent regexes: skipped " + std::to_string(impl_->skipped.size()) +
                    " of " + std::to_string(total) + " that RE2 cannot compile:";
  for (const SkippedPattern& p : impl_->skipped) {
    out += " " + p.list + "[" + std::to_string(p.index) + "] /" + p.regex + "/: " + p.error + ";";
  }
  out.pop_back();
  return out;
}

size_t UserAgentParser::pattern_count() const {
  return impl_->browsers.rules.size() + impl_->oses.rules.size() + impl_->devices.rules.size();
}

int UserAgentParser::prefiltered_lists() const {
  return (impl_->browsers.prefiltered ? 1 : 0) + (impl_->oses.prefiltered ? 1 : 0) +
         (impl_->devices.prefiltered ? 1 : 0);
}

UserAgentParser::Stats UserAgentParser::stats() const {
  Stats stats;
  impl_->cache.AddStats(&stats);
  stats.prefilter_fallbacks = impl_->prefilter_fallbacks.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace ca::ingest
