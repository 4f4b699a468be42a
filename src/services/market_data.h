#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ca::services {

/// The external datasets a tenant can import (`career-analytics import market|benchmarks|
/// indicators`, `POST /analytics/external`). They feed `job_market_trends`. Columns, aliases and
/// rejection codes: docs/api/market-data.md.
enum class ExternalDataset {
  kMarket,      ///< salary, postings and competition per date, industry and location
  kBenchmarks,  ///< industry benchmarks: a named metric per date and industry
  kIndicators,  ///< economic indicators: a named indicator per date and location
};

/// "market", "benchmarks" or "indicators".
std::string_view ExternalDatasetName(ExternalDataset dataset);
/// The dataset named `name`, case-insensitive: the ExternalDatasetName names and the aliases
/// "benchmark", "industry_benchmarks", "indicator", "economic_indicators". nullopt otherwise.
std::optional<ExternalDataset> ParseExternalDataset(std::string_view name);

/// The encodings of an external-data body.
enum class ExternalFormat {
  kCsv,   ///< RFC 4180 with a header row
  kJson,  ///< an array of objects, or JSON lines (one object per line); detected
};

/// "csv" or "json".
std::string_view ExternalFormatName(ExternalFormat format);
/// The format named `name`, case-insensitive: "csv", "json", "jsonl", "ndjson", or a media type
/// (`text/csv`, `application/json`, `application/x-ndjson`, `application/jsonl`, ...; parameters
/// after ';' are ignored). nullopt otherwise.
std::optional<ExternalFormat> ParseExternalFormat(std::string_view name);
/// The format of a file by its extension (case-insensitive): `.csv`, or `.json`, `.jsonl`,
/// `.ndjson`. nullopt for any other name.
std::optional<ExternalFormat> ExternalFormatForPath(std::string_view path);

/// One row of the `market` dataset.
struct MarketRow {
  int64_t date = 0;  ///< days since 1970-01-01 (the UTC date)
  std::string industry;
  std::string location;
  double average_salary = 0;  ///< >= 0
  int64_t postings = 0;       ///< >= 0
  double competition = 0;     ///< applicants per posting, >= 0
  bool operator==(const MarketRow&) const = default;
};

/// One row of the `benchmarks` dataset, e.g. metric "response_rate" or "time_to_offer_days".
struct BenchmarkRow {
  int64_t date = 0;
  std::string industry;
  std::string metric;
  double value = 0;  ///< any finite number
  bool operator==(const BenchmarkRow&) const = default;
};

/// One row of the `indicators` dataset, e.g. indicator "unemployment_rate".
struct IndicatorRow {
  int64_t date = 0;
  std::string location;  ///< a region, country or city
  std::string indicator;
  double value = 0;  ///< any finite number
  bool operator==(const IndicatorRow&) const = default;
};

/// Stable codes of RejectedRow::code; clients match on them.
inline constexpr std::string_view kRejectMissingField = "missing_field";  ///< absent, null, empty
inline constexpr std::string_view kRejectInvalidNumber = "invalid_number";
inline constexpr std::string_view kRejectInvalidDate = "invalid_date";
inline constexpr std::string_view kRejectNegativeValue = "negative_value";
inline constexpr std::string_view kRejectFieldTooLong = "field_too_long";
/// A text field with a control character or invalid UTF-8.
inline constexpr std::string_view kRejectInvalidText = "invalid_text";
/// JSON: a value of the wrong type (e.g. an object where a number belongs).
inline constexpr std::string_view kRejectWrongType = "wrong_type";
/// JSON: two keys of one object name the same column (e.g. "salary" and "avg_salary").
inline constexpr std::string_view kRejectDuplicateField = "duplicate_field";
/// JSON: an array element or a line that is not an object.
inline constexpr std::string_view kRejectNotObject = "not_object";
/// JSON lines: a line that is not valid JSON.
inline constexpr std::string_view kRejectInvalidJson = "invalid_json";
/// CSV: a record with more or fewer fields than the header.
inline constexpr std::string_view kRejectWrongFieldCount = "wrong_field_count";
/// CSV: characters after the closing quote of a quoted field.
inline constexpr std::string_view kRejectMalformedCsv = "malformed_csv";

/// A row that failed validation. Only its first problem is reported.
struct RejectedRow {
  /// 1-based. CSV: the physical line where the record starts. JSON array: the element's index + 1.
  /// JSON lines: the physical line.
  int64_t line = 0;
  std::string code;     ///< one of the kReject* codes
  std::string message;  ///< names the column; printable ASCII only (other bytes become '?')
};

inline constexpr int64_t kMaxExternalRows = 1'000'000;
/// Longest accepted text field (industry, location, metric, indicator), in bytes after trimming.
inline constexpr size_t kMaxExternalTextBytes = 128;
/// At most this many names are listed in ParsedExternalData::ignored_columns.
inline constexpr size_t kMaxIgnoredColumnsListed = 64;

/// The outcome of parsing one body: the valid rows and the rejected ones.
struct ParsedExternalData {
  ExternalDataset dataset = ExternalDataset::kMarket;
  /// The valid rows of the dataset (only the vector of `dataset` is filled), in order of first
  /// appearance. Rows with the same key (market: date, industry, location; benchmarks: date,
  /// industry, metric; indicators: date, location, indicator; text compared with
  /// state::NormaliseKey) appear once, with the values of the last of them.
  std::vector<MarketRow> market;
  std::vector<BenchmarkRow> benchmarks;
  std::vector<IndicatorRow> indicators;
  std::vector<RejectedRow> rejected;  ///< in line order
  /// Warning: columns (CSV) or keys (JSON) that match no column of the dataset and were ignored,
  /// as written (sanitised like RejectedRow::message), each once, at most
  /// kMaxIgnoredColumnsListed. An empty CSV header cell is listed as "(column N)".
  std::vector<std::string> ignored_columns;
  int64_t rows_read = 0;            ///< data rows seen (blank lines not counted)
  int64_t duplicates_replaced = 0;  ///< warning: valid rows overridden by a later row
  /// Number of valid rows after de-duplication.
  size_t accepted() const;
};

struct ExternalParseOptions {
  /// More data rows than this (valid or not) fails the whole body.
  int64_t max_rows = kMaxExternalRows;
};

/// Parses and validates an external-data body of `dataset` in `format`. The caller bounds the
/// body size. Pure and thread-safe.
///
/// CSV: a header row is required (a UTF-8 BOM and blank lines are skipped); header names are
/// matched case-insensitively with spaces and '-' read as '_', against the columns and aliases of
/// the dataset, in any order; unknown columns are ignored (ParsedExternalData::ignored_columns).
/// Fields may be quoted with "" escapes; CRLF, LF or CR line ends. JSON: an array of objects, or
/// one object per line (JSON lines), keys matched like CSV headers.
///
/// Per row: dates `YYYY-MM-DD` or an ISO 8601 date-time (with a zone: its UTC date; without one:
/// the date as written); text trimmed, non-empty, at most kMaxExternalTextBytes, valid UTF-8
/// without control characters; numbers finite, salary, postings and competition >= 0, postings
/// whole. JSON numbers may also be given as strings. A failing row becomes a RejectedRow.
///
/// Errors (the whole body): kInvalidArgument for an empty body, a CSV header lacking a required
/// column or naming one column twice, an unterminated quoted field, a body that is not JSON (or no
/// line of which is), and more than `options.max_rows` rows.
Result<ParsedExternalData> ParseExternalData(ExternalDataset dataset, std::string_view body,
                                             ExternalFormat format,
                                             const ExternalParseOptions& options = {});

}  // namespace ca::services
