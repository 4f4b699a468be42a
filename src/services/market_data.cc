#include "services/market_data.h"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>

#include "base/utf8.h"
#include "event/timestamp.h"
#include "state/state_store.h"

namespace ca::services {
namespace {

using Json = nlohmann::json;

// --- Small text helpers ---------------------------------------------------------------------

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

/// A column name or JSON key as matched against aliases: trimmed, lower case, ' ' and '-' as '_'.
std::string ColumnKey(std::string_view name) {
  std::string out;
  for (const char c : Trim(name)) out.push_back(c == ' ' || c == '-' ? '_' : LowerAscii(c));
  return out;
}

/// `text` for a message: at most 40 bytes, bytes other than printable ASCII replaced by '?'.
std::string Printable(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    out.push_back(b >= 0x20 && b < 0x7f ? text[i] : '?');
  }
  if (text.size() > kMax) out += "...";
  return out;
}

// --- Columns --------------------------------------------------------------------------------

enum class Kind { kDate, kText, kNonNegativeNumber, kNonNegativeInteger, kNumber };

struct ColumnSpec {
  std::string_view name;  ///< canonical
  Kind kind;
  std::span<const std::string_view> aliases;  ///< ColumnKey forms, the canonical name included
};

constexpr std::string_view kDateAliases[] = {"date", "day", "as_of"};
constexpr std::string_view kIndustryAliases[] = {"industry", "sector"};
constexpr std::string_view kLocationAliases[] = {"location", "region", "area", "geo"};
constexpr std::string_view kIndicatorLocationAliases[] = {"location", "region", "area", "geo",
                                                          "country"};
constexpr std::string_view kSalaryAliases[] = {"average_salary", "avg_salary", "salary",
                                               "mean_salary"};
constexpr std::string_view kPostingsAliases[] = {"postings", "job_postings", "openings",
                                                 "job_openings"};
constexpr std::string_view kCompetitionAliases[] = {"competition", "applicants_per_posting",
                                                    "applicants_per_job"};
constexpr std::string_view kMetricAliases[] = {"metric", "metric_name", "benchmark"};
constexpr std::string_view kIndicatorAliases[] = {"indicator", "indicator_name", "series"};
constexpr std::string_view kValueAliases[] = {"value"};

constexpr ColumnSpec kMarketColumns[] = {
    {"date", Kind::kDate, kDateAliases},
    {"industry", Kind::kText, kIndustryAliases},
    {"location", Kind::kText, kLocationAliases},
    {"average_salary", Kind::kNonNegativeNumber, kSalaryAliases},
    {"postings", Kind::kNonNegativeInteger, kPostingsAliases},
    {"competition", Kind::kNonNegativeNumber, kCompetitionAliases},
};
constexpr ColumnSpec kBenchmarkColumns[] = {
    {"date", Kind::kDate, kDateAliases},
    {"industry", Kind::kText, kIndustryAliases},
    {"metric", Kind::kText, kMetricAliases},
    {"value", Kind::kNumber, kValueAliases},
};
constexpr ColumnSpec kIndicatorColumns[] = {
    {"date", Kind::kDate, kDateAliases},
    {"location", Kind::kText, kIndicatorLocationAliases},
    {"indicator", Kind::kText, kIndicatorAliases},
    {"value", Kind::kNumber, kValueAliases},
};
constexpr size_t kMaxColumns = 6;

std::span<const ColumnSpec> ColumnsOf(ExternalDataset dataset) {
  switch (dataset) {
    case ExternalDataset::kMarket:
      return kMarketColumns;
    case ExternalDataset::kBenchmarks:
      return kBenchmarkColumns;
    case ExternalDataset::kIndicators:
      return kIndicatorColumns;
  }
  return {};
}

/// The index in `columns` of the column `key` (a ColumnKey) names, or -1.
int FindColumn(std::span<const ColumnSpec> columns, std::string_view key) {
  for (size_t i = 0; i < columns.size(); ++i) {
    for (const std::string_view alias : columns[i].aliases) {
      if (alias == key) return static_cast<int>(i);
    }
  }
  return -1;
}

// --- Values ---------------------------------------------------------------------------------

struct Rejection {
  std::string_view code;
  std::string message;
};

/// A converted field; which member is set depends on the column's Kind.
struct Value {
  int64_t integer = 0;  ///< kDate (epoch day), kNonNegativeInteger
  double number = 0;    ///< kNonNegativeNumber, kNumber
  std::string text;     ///< kText
};

Rejection Reject(std::string_view code, std::string_view column, std::string_view what) {
  return {code, "column '" + Printable(column) + "': " + std::string(what)};
}

/// The epoch day of "YYYY-MM-DD" (years 1970..9999, the day checked against the month).
std::optional<int64_t> ParsePlainDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = starts[p]; i < starts[p] + lengths[p]; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      parts[p] = parts[p] * 10 + (s[i] - '0');
    }
  }
  const auto [year, month, day] = parts;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1970 || month < 1 || month > 12 || day < 1) return std::nullopt;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  return event::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

/// "YYYY-MM-DD", or an ISO 8601 date-time: with a zone, its UTC date; without, the date written.
std::optional<int64_t> ParseDay(std::string_view s) {
  if (s.size() == 10) return ParsePlainDate(s);
  Result<int64_t> ms = event::ParseIso8601Millis(s);
  if (!ms.ok() && s.size() >= 19 && s.size() <= 29) {
    // A date-time without a zone: read as written (UTC).
    std::string zoned(s);
    zoned.push_back('Z');
    ms = event::ParseIso8601Millis(zoned);
  }
  if (!ms.ok()) return std::nullopt;
  // Dates before 1970 are refused by the parser, and a zone offset can at most move the first
  // day back to 1969-12-31.
  int64_t day = *ms / 86'400'000;
  if (*ms < 0 && *ms % 86'400'000 != 0) --day;
  return day;
}

std::optional<double> ParseDouble(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

/// Largest integer a double holds exactly; whole numbers in floating point must stay below it.
constexpr double kMaxExactInteger = 9007199254740992.0;

std::optional<Rejection> CheckNumber(const ColumnSpec& column, std::string_view display, double v,
                                     Value* out) {
  if (column.kind != Kind::kNumber && v < 0) {
    return Reject(kRejectNegativeValue, display, "must not be negative");
  }
  if (v == 0) v = 0;  // no negative zero
  if (column.kind == Kind::kNonNegativeInteger) {
    if (v != std::floor(v) || v > kMaxExactInteger) {
      return Reject(kRejectInvalidNumber, display, "not a whole number");
    }
    out->integer = static_cast<int64_t>(v);
  } else {
    out->number = v;
  }
  return std::nullopt;
}

/// Converts the text of a field (a CSV cell or a JSON string).
std::optional<Rejection> ConvertText(const ColumnSpec& column, std::string_view display,
                                     std::string_view raw, Value* out) {
  const std::string_view s = Trim(raw);
  if (s.empty()) return Reject(kRejectMissingField, display, "empty");
  switch (column.kind) {
    case Kind::kDate: {
      const std::optional<int64_t> day = ParseDay(s);
      if (!day) {
        return Reject(kRejectInvalidDate, display,
                      "not a date (YYYY-MM-DD or an ISO 8601 date-time, years 1970..9999): '" +
                          Printable(s) + "'");
      }
      out->integer = *day;
      return std::nullopt;
    }
    case Kind::kText: {
      if (s.size() > kMaxExternalTextBytes) {
        return Reject(kRejectFieldTooLong, display,
                      "longer than " + std::to_string(kMaxExternalTextBytes) + " bytes");
      }
      for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7f) {
          return Reject(kRejectInvalidText, display, "contains a control character");
        }
      }
      if (!IsValidUtf8(s)) return Reject(kRejectInvalidText, display, "not valid UTF-8");
      out->text = std::string(s);
      return std::nullopt;
    }
    case Kind::kNonNegativeInteger: {
      std::string_view digits = s.front() == '+' ? s.substr(1) : s;
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size()) {
        if (v < 0) return Reject(kRejectNegativeValue, display, "must not be negative");
        out->integer = v;
        return std::nullopt;
      }
      [[fallthrough]];
    }
    case Kind::kNonNegativeNumber:
    case Kind::kNumber: {
      const std::optional<double> v = ParseDouble(s);
      if (!v) return Reject(kRejectInvalidNumber, display, "not a number: '" + Printable(s) + "'");
      return CheckNumber(column, display, *v, out);
    }
  }
  return Reject(kRejectInvalidNumber, display, "unsupported column");
}

std::optional<Rejection> ConvertJson(const ColumnSpec& column, std::string_view display,
                                     const Json& v, Value* out) {
  if (v.is_null()) return Reject(kRejectMissingField, display, "null");
  if (v.is_string()) return ConvertText(column, display, v.get_ref<const std::string&>(), out);
  const bool numeric = column.kind == Kind::kNonNegativeNumber ||
                       column.kind == Kind::kNonNegativeInteger || column.kind == Kind::kNumber;
  if (!v.is_number() || !numeric) {
    return Reject(
        kRejectWrongType, display,
        std::string("expected ") + (numeric ? "a number" : "a string") + ", got " + v.type_name());
  }
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (column.kind == Kind::kNonNegativeInteger) {
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Reject(kRejectInvalidNumber, display, "too large");
      }
      out->integer = static_cast<int64_t>(u);
      return std::nullopt;
    }
    out->number = static_cast<double>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (column.kind != Kind::kNumber && i < 0) {
      return Reject(kRejectNegativeValue, display, "must not be negative");
    }
    if (column.kind == Kind::kNonNegativeInteger) {
      out->integer = i;
    } else {
      out->number = static_cast<double>(i);
    }
    return std::nullopt;
  }
  const double d = v.get<double>();
  if (!std::isfinite(d)) return Reject(kRejectInvalidNumber, display, "not finite");
  return CheckNumber(column, display, d, out);
}

// --- Rows -----------------------------------------------------------------------------------

/// Collects valid rows, de-duplicating by key, and rejections.
class Collector {
 public:
  Collector(ExternalDataset dataset, ParsedExternalData* out) : dataset_(dataset), out_(out) {
    out_->dataset = dataset;
  }

  void Reject(int64_t line, Rejection r) {
    out_->rejected.push_back({line, std::string(r.code), std::move(r.message)});
  }

  /// `values` in the order of ColumnsOf(dataset).
  void Add(std::array<Value, kMaxColumns>& values) {
    std::string key = std::to_string(values[0].integer);
    key.push_back('\x1f');
    key += state::NormaliseKey(values[1].text);
    key.push_back('\x1f');
    key += state::NormaliseKey(values[2].text);
    switch (dataset_) {
      case ExternalDataset::kMarket:
        Store(std::move(key), &out_->market,
              MarketRow{values[0].integer, std::move(values[1].text), std::move(values[2].text),
                        values[3].number, values[4].integer, values[5].number});
        break;
      case ExternalDataset::kBenchmarks:
        Store(std::move(key), &out_->benchmarks,
              BenchmarkRow{values[0].integer, std::move(values[1].text), std::move(values[2].text),
                           values[3].number});
        break;
      case ExternalDataset::kIndicators:
        Store(std::move(key), &out_->indicators,
              IndicatorRow{values[0].integer, std::move(values[1].text), std::move(values[2].text),
                           values[3].number});
        break;
    }
  }

  void Ignore(std::string_view name) {
    if (out_->ignored_columns.size() >= kMaxIgnoredColumnsListed) return;
    std::string printable = Printable(name);
    if (ignored_.insert(printable).second) out_->ignored_columns.push_back(std::move(printable));
  }

 private:
  template <typename Row>
  void Store(std::string key, std::vector<Row>* rows, Row row) {
    const auto [it, inserted] = index_.try_emplace(std::move(key), rows->size());
    if (inserted) {
      rows->push_back(std::move(row));
    } else {
      (*rows)[it->second] = std::move(row);
      ++out_->duplicates_replaced;
    }
  }

  const ExternalDataset dataset_;
  ParsedExternalData* const out_;
  std::unordered_map<std::string, size_t> index_;
  std::set<std::string> ignored_;
};

std::string_view WithoutBom(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  return body;
}

Status TooManyRows(int64_t max_rows) {
  return InvalidArgument("more than " + std::to_string(max_rows) + " rows");
}

// --- CSV ------------------------------------------------------------------------------------

/// An RFC 4180 reader over a whole body. Line ends: CRLF, LF or a lone CR.
class CsvReader {
 public:
  struct Record {
    std::vector<std::string> fields;
    int64_t line = 0;        ///< physical line where the record starts
    bool malformed = false;  ///< text after a closing quote
    bool blank = false;      ///< an empty or whitespace-only line
  };

  explicit CsvReader(std::string_view text) : text_(text) {}

  /// Reads the next record into `r`; false at the end of the body or on an error (`*error` set:
  /// an unterminated quoted field).
  bool Next(Record* r, Status* error) {
    if (pos_ >= text_.size()) return false;
    r->fields.clear();
    r->line = line_;
    r->malformed = false;
    bool quoted_any = false;
    std::string field;
    while (true) {
      if (pos_ < text_.size() && text_[pos_] == '"') {
        quoted_any = true;
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) {
            *error = InvalidArgument("CSV: unterminated quoted field starting on line " +
                                     std::to_string(r->line));
            return false;
          }
          const char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) {
            ++line_;
          }
          field.push_back(c);
          ++pos_;
        }
        while (pos_ < text_.size() && !IsDelimiter(text_[pos_])) {
          r->malformed = true;
          field.push_back(text_[pos_++]);
        }
      } else {
        const size_t end = text_.find_first_of(",\r\n", pos_);
        const size_t stop = end == std::string_view::npos ? text_.size() : end;
        field.append(text_.substr(pos_, stop - pos_));
        pos_ = stop;
      }
      r->fields.push_back(std::move(field));
      field.clear();
      if (pos_ >= text_.size()) break;
      const char c = text_[pos_++];
      if (c == ',') continue;
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      break;
    }
    r->blank = !quoted_any && r->fields.size() == 1 && Trim(r->fields[0]).empty();
    return true;
  }

 private:
  static bool IsDelimiter(char c) { return c == ',' || c == '\r' || c == '\n'; }

  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

Status ParseCsv(std::span<const ColumnSpec> columns, std::string_view body,
                const ExternalParseOptions& options, Collector* collector,
                ParsedExternalData* out) {
  CsvReader reader(body);
  CsvReader::Record record;
  Status error;
  bool have_header = false;
  while (reader.Next(&record, &error)) {
    if (!record.blank) {
      have_header = true;
      break;
    }
  }
  CA_RETURN_IF_ERROR(error);
  if (!have_header) return InvalidArgument("CSV: a header row is required");
  if (record.malformed) {
    return InvalidArgument("CSV: malformed header (text after a closing quote)");
  }

  // column_of[i]: the dataset column of CSV field i, or -1.
  std::vector<int> column_of(record.fields.size(), -1);
  std::array<std::string, kMaxColumns> display;
  std::array<bool, kMaxColumns> present{};
  for (size_t i = 0; i < record.fields.size(); ++i) {
    const std::string& name = record.fields[i];
    const int c = FindColumn(columns, ColumnKey(name));
    if (c < 0) {
      collector->Ignore(Trim(name).empty() ? "(column " + std::to_string(i + 1) + ")"
                                           : std::string(Trim(name)));
      continue;
    }
    if (present[c]) {
      return InvalidArgument("CSV header: columns '" + Printable(display[c]) + "' and '" +
                             Printable(name) + "' both name column '" +
                             std::string(columns[c].name) + "'");
    }
    present[c] = true;
    display[c] = std::string(Trim(name));
    column_of[i] = c;
  }
  std::string missing;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (present[c]) continue;
    if (!missing.empty()) missing += ", ";
    missing += columns[c].name;
  }
  if (!missing.empty()) {
    return InvalidArgument("CSV: the header row (line " + std::to_string(record.line) +
                           ") lacks the column(s) " + missing);
  }

  std::array<Value, kMaxColumns> values;
  while (reader.Next(&record, &error)) {
    if (record.blank) continue;
    if (++out->rows_read > options.max_rows) return TooManyRows(options.max_rows);
    if (record.fields.size() != column_of.size()) {
      collector->Reject(record.line,
                        {kRejectWrongFieldCount, std::to_string(record.fields.size()) +
                                                     " fields, the header has " +
                                                     std::to_string(column_of.size())});
      continue;
    }
    if (record.malformed) {
      collector->Reject(record.line,
                        {kRejectMalformedCsv, "text after the closing quote of a quoted field"});
      continue;
    }
    std::optional<Rejection> rejection;
    for (size_t i = 0; i < record.fields.size() && !rejection; ++i) {
      const int c = column_of[i];
      if (c < 0) continue;
      values[c] = Value();
      rejection = ConvertText(columns[c], display[c], record.fields[i], &values[c]);
    }
    if (rejection) {
      collector->Reject(record.line, std::move(*rejection));
    } else {
      collector->Add(values);
    }
  }
  return error;
}

// --- JSON -----------------------------------------------------------------------------------

/// Validates one JSON row (`element` at `line`).
void AddJsonRow(std::span<const ColumnSpec> columns, const Json& element, int64_t line,
                Collector* collector) {
  if (!element.is_object()) {
    collector->Reject(
        line, {kRejectNotObject, std::string("expected an object, got ") + element.type_name()});
    return;
  }
  std::array<const Json*, kMaxColumns> found{};
  std::array<std::string_view, kMaxColumns> display;
  for (auto it = element.begin(); it != element.end(); ++it) {
    const std::string& key = it.key();
    const int c = FindColumn(columns, ColumnKey(key));
    if (c < 0) {
      collector->Ignore(key);
      continue;
    }
    if (found[c] != nullptr) {
      collector->Reject(line, Reject(kRejectDuplicateField, columns[c].name,
                                     "given twice ('" + Printable(display[c]) + "' and '" +
                                         Printable(key) + "')"));
      return;
    }
    found[c] = &it.value();
    display[c] = key;
  }
  std::array<Value, kMaxColumns> values;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (found[c] == nullptr) {
      collector->Reject(line, Reject(kRejectMissingField, columns[c].name, "missing"));
      return;
    }
    if (std::optional<Rejection> r = ConvertJson(columns[c], display[c], *found[c], &values[c])) {
      collector->Reject(line, std::move(*r));
      return;
    }
  }
  collector->Add(values);
}

/// The deepest nesting of arrays and objects in `text` (a whole document), strings skipped;
/// stops counting once `limit` is exceeded.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

/// Rows are flat objects; deeper values are rejected anyway, so bound the parser's work.
constexpr int kMaxJsonDepth = 64;

Status ParseJson(std::span<const ColumnSpec> columns, std::string_view body,
                 const ExternalParseOptions& options, Collector* collector,
                 ParsedExternalData* out) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return InvalidArgument("JSON: empty body");
  if (body[first] != '[' && body[first] != '{') {
    return InvalidArgument("not JSON: expected an array of objects or one object per line");
  }
  const bool too_deep = NestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth;

  if (body[first] == '[') {
    if (too_deep) {
      return InvalidArgument("JSON: nested deeper than " + std::to_string(kMaxJsonDepth));
    }
    const Json doc = Json::parse(body, nullptr, false);
    if (doc.is_discarded()) return InvalidArgument("JSON: malformed");
    if (!doc.is_array()) return InvalidArgument("JSON: expected an array of objects");
    if (static_cast<int64_t>(doc.size()) > options.max_rows) return TooManyRows(options.max_rows);
    int64_t line = 0;
    for (const Json& element : doc) {
      ++out->rows_read;
      AddJsonRow(columns, element, ++line, collector);
    }
    return Status::Ok();
  }

  // One object, or JSON lines.
  if (!too_deep) {
    const Json doc = Json::parse(body, nullptr, false);
    if (!doc.is_discarded()) {
      out->rows_read = 1;
      AddJsonRow(columns, doc, 1, collector);
      return Status::Ok();
    }
  }
  bool any_valid = false;
  int64_t line = 0;
  for (size_t pos = 0; pos < body.size();) {
    const size_t nl = body.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view text = body.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (++out->rows_read > options.max_rows) return TooManyRows(options.max_rows);
    if (NestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
      collector->Reject(
          line, {kRejectInvalidJson, "nested deeper than " + std::to_string(kMaxJsonDepth)});
      continue;
    }
    const Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
      collector->Reject(line, {kRejectInvalidJson, "not valid JSON"});
      continue;
    }
    any_valid = true;
    AddJsonRow(columns, doc, line, collector);
  }
  if (!any_valid) return InvalidArgument("not JSON: no line is a JSON value");
  return Status::Ok();
}

}  // namespace

std::string_view ExternalDatasetName(ExternalDataset dataset) {
  switch (dataset) {
    case ExternalDataset::kMarket:
      return "market";
    case ExternalDataset::kBenchmarks:
      return "benchmarks";
    case ExternalDataset::kIndicators:
      return "indicators";
  }
  return "unknown";
}

std::optional<ExternalDataset> ParseExternalDataset(std::string_view name) {
  static constexpr std::pair<std::string_view, ExternalDataset> kNames[] = {
      {"market", ExternalDataset::kMarket},
      {"benchmarks", ExternalDataset::kBenchmarks},
      {"benchmark", ExternalDataset::kBenchmarks},
      {"industry_benchmarks", ExternalDataset::kBenchmarks},
      {"indicators", ExternalDataset::kIndicators},
      {"indicator", ExternalDataset::kIndicators},
      {"economic_indicators", ExternalDataset::kIndicators},
  };
  for (const auto& [n, dataset] : kNames) {
    if (EqualsIgnoreCase(n, name)) return dataset;
  }
  return std::nullopt;
}

std::string_view ExternalFormatName(ExternalFormat format) {
  return format == ExternalFormat::kCsv ? "csv" : "json";
}

std::optional<ExternalFormat> ParseExternalFormat(std::string_view name) {
  name = Trim(name.substr(0, name.find(';')));
  static constexpr std::pair<std::string_view, ExternalFormat> kNames[] = {
      {"csv", ExternalFormat::kCsv},
      {"text/csv", ExternalFormat::kCsv},
      {"application/csv", ExternalFormat::kCsv},
      {"json", ExternalFormat::kJson},
      {"jsonl", ExternalFormat::kJson},
      {"ndjson", ExternalFormat::kJson},
      {"application/json", ExternalFormat::kJson},
      {"application/x-ndjson", ExternalFormat::kJson},
      {"application/ndjson", ExternalFormat::kJson},
      {"application/jsonl", ExternalFormat::kJson},
      {"application/x-jsonlines", ExternalFormat::kJson},
  };
  for (const auto& [n, format] : kNames) {
    if (EqualsIgnoreCase(n, name)) return format;
  }
  return std::nullopt;
}

std::optional<ExternalFormat> ExternalFormatForPath(std::string_view path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.find_last_of("/\\");
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return std::nullopt;
  }
  const std::string_view ext = path.substr(dot + 1);
  if (EqualsIgnoreCase(ext, "csv")) return ExternalFormat::kCsv;
  if (EqualsIgnoreCase(ext, "json") || EqualsIgnoreCase(ext, "jsonl") ||
      EqualsIgnoreCase(ext, "ndjson")) {
    return ExternalFormat::kJson;
  }
  return std::nullopt;
}

size_t ParsedExternalData::accepted() const {
  return market.size() + benchmarks.size() + indicators.size();
}

Result<ParsedExternalData> ParseExternalData(ExternalDataset dataset, std::string_view body,
                                             ExternalFormat format,
                                             const ExternalParseOptions& options) {
  const std::span<const ColumnSpec> columns = ColumnsOf(dataset);
  if (columns.empty()) return InvalidArgument("unknown external dataset");
  body = WithoutBom(body);
  ParsedExternalData out;
  Collector collector(dataset, &out);
  const Status status = format == ExternalFormat::kCsv
                            ? ParseCsv(columns, body, options, &collector, &out)
                            : ParseJson(columns, body, options, &collector, &out);
  if (!status.ok()) {
    return status.WithContext(std::string(ExternalDatasetName(dataset)) + " " +
                              std::string(ExternalFormatName(format)));
  }
  return out;
}

}  // namespace ca::services
