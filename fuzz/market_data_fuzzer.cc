// libFuzzer target for external market data (services/market_data.h): ParseExternalData on
// arbitrary bytes for each dataset and both formats. Besides memory errors and hangs it checks:
// accepted text fields are trimmed, non-empty, short, valid for NormaliseKey; numbers are finite
// and non-negative where required; rejected rows carry a known code, a line within the body and a
// printable message; valid and rejected rows never exceed the rows read.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/market_data.h"
#include "state/state_store.h"

namespace {

using ca::services::ExternalDataset;
using ca::services::ExternalFormat;
using ca::services::ParsedExternalData;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void CheckText(const std::string& s) {
  Check(!s.empty() && s.size() <= ca::services::kMaxExternalTextBytes, "text length");
  Check(s.front() != ' ' && s.back() != ' ' && s.front() != '\t' && s.back() != '\t',
        "text trimmed");
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    Check(b >= 0x20 && b != 0x7f, "text without control characters");
  }
  Check(!ca::state::NormaliseKey(s).empty(), "normalised key non-empty");
}

bool KnownCode(std::string_view code) {
  using namespace ca::services;  // NOLINT: the kReject* constants
  for (const std::string_view known :
       {kRejectMissingField, kRejectInvalidNumber, kRejectInvalidDate, kRejectNegativeValue,
        kRejectFieldTooLong, kRejectInvalidText, kRejectWrongType, kRejectDuplicateField,
        kRejectNotObject, kRejectInvalidJson, kRejectWrongFieldCount, kRejectMalformedCsv}) {
    if (code == known) return true;
  }
  return false;
}

void CheckParsed(const ParsedExternalData& d, ExternalDataset dataset, std::string_view body) {
  Check(d.dataset == dataset, "dataset");
  Check(d.rows_read >= 0 && d.rows_read <= ca::services::kMaxExternalRows, "rows read");
  Check(
      static_cast<int64_t>(d.accepted() + d.rejected.size()) + d.duplicates_replaced == d.rows_read,
      "every row read is accepted, rejected or replaced");
  Check(d.ignored_columns.size() <= ca::services::kMaxIgnoredColumnsListed, "ignored capped");
  int64_t newlines = 1;
  for (const char c : body) newlines += c == '\n' || c == '\r';
  int64_t previous_line = 0;
  for (const auto& r : d.rejected) {
    Check(KnownCode(r.code), "known rejection code");
    Check(r.line >= 1 && r.line <= std::max<int64_t>(newlines, d.rows_read), "line in range");
    Check(r.line > previous_line, "rejections in line order");
    previous_line = r.line;
    for (const char c : r.message) Check(c >= 0x20 && c < 0x7f, "printable message");
  }
  for (const auto& row : d.market) {
    CheckText(row.industry);
    CheckText(row.location);
    Check(std::isfinite(row.average_salary) && row.average_salary >= 0, "salary");
    Check(row.postings >= 0, "postings");
    Check(std::isfinite(row.competition) && row.competition >= 0, "competition");
  }
  for (const auto& row : d.benchmarks) {
    CheckText(row.industry);
    CheckText(row.metric);
    Check(std::isfinite(row.value), "benchmark value");
  }
  for (const auto& row : d.indicators) {
    CheckText(row.location);
    CheckText(row.indicator);
    Check(std::isfinite(row.value), "indicator value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const ExternalDataset dataset :
       {ExternalDataset::kMarket, ExternalDataset::kBenchmarks, ExternalDataset::kIndicators}) {
    for (const ExternalFormat format : {ExternalFormat::kCsv, ExternalFormat::kJson}) {
      const auto parsed = ca::services::ParseExternalData(dataset, body, format);
      if (parsed.ok()) {
        CheckParsed(*parsed, dataset, body);
      } else {
        Check(parsed.status().code() == ca::ErrorCode::kInvalidArgument, "whole-body error code");
      }
    }
  }
  (void)ca::services::ParseExternalDataset(body);
  (void)ca::services::ParseExternalFormat(body);
  (void)ca::services::ExternalFormatForPath(body);
  return 0;
}
