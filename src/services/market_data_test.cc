#include "services/market_data.h"
#include "state/state_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "event/timestamp.h"

namespace ca::services {
namespace {

int64_t Day(int y, unsigned m, unsigned d) { return event::DaysFromCivil(y, m, d); }

ParsedExternalData Parse(ExternalDataset dataset, std::string_view body, ExternalFormat format) {
  Result<ParsedExternalData> parsed = ParseExternalData(dataset, body, format);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? std::move(parsed).value() : ParsedExternalData();
}

ParsedExternalData Csv(std::string_view body, ExternalDataset dataset = ExternalDataset::kMarket) {
  return Parse(dataset, body, ExternalFormat::kCsv);
}

ParsedExternalData Json(std::string_view body, ExternalDataset dataset = ExternalDataset::kMarket) {
  return Parse(dataset, body, ExternalFormat::kJson);
}

ErrorCode CsvError(std::string_view body, ExternalDataset dataset = ExternalDataset::kMarket) {
  return ParseExternalData(dataset, body, ExternalFormat::kCsv).status().code();
}

ErrorCode JsonError(std::string_view body, ExternalDataset dataset = ExternalDataset::kMarket) {
  return ParseExternalData(dataset, body, ExternalFormat::kJson).status().code();
}

constexpr std::string_view kHeader = "date,industry,location,average_salary,postings,competition\n";

/// The one rejection of a one-row market CSV body `row` under kHeader.
RejectedRow RejectRow(std::string_view row) {
  const ParsedExternalData d = Csv(std::string(kHeader) + std::string(row) + "\n");
  EXPECT_TRUE(d.market.empty());
  EXPECT_EQ(d.rejected.size(), 1u) << row;
  return d.rejected.empty() ? RejectedRow() : d.rejected[0];
}

TEST(ExternalDatasetTest, NamesRoundTripAndAliases) {
  for (auto dataset :
       {ExternalDataset::kMarket, ExternalDataset::kBenchmarks, ExternalDataset::kIndicators}) {
    EXPECT_EQ(ParseExternalDataset(ExternalDatasetName(dataset)), dataset);
  }
  EXPECT_EQ(ParseExternalDataset("MARKET"), ExternalDataset::kMarket);
  EXPECT_EQ(ParseExternalDataset("industry_benchmarks"), ExternalDataset::kBenchmarks);
  EXPECT_EQ(ParseExternalDataset("Economic_Indicators"), ExternalDataset::kIndicators);
  EXPECT_EQ(ParseExternalDataset("markets "), std::nullopt);
  EXPECT_EQ(ParseExternalDataset(""), std::nullopt);
}

TEST(ExternalFormatTest, NamesMediaTypesAndPaths) {
  EXPECT_EQ(ParseExternalFormat("csv"), ExternalFormat::kCsv);
  EXPECT_EQ(ParseExternalFormat("text/csv; charset=utf-8"), ExternalFormat::kCsv);
  EXPECT_EQ(ParseExternalFormat("JSON"), ExternalFormat::kJson);
  EXPECT_EQ(ParseExternalFormat("application/x-ndjson"), ExternalFormat::kJson);
  EXPECT_EQ(ParseExternalFormat("xml"), std::nullopt);
  EXPECT_EQ(ExternalFormatName(ExternalFormat::kCsv), "csv");
  EXPECT_EQ(ExternalFormatForPath("data/market.CSV"), ExternalFormat::kCsv);
  EXPECT_EQ(ExternalFormatForPath("/tmp/x.jsonl"), ExternalFormat::kJson);
  EXPECT_EQ(ExternalFormatForPath("/tmp/x.json"), ExternalFormat::kJson);
  EXPECT_EQ(ExternalFormatForPath("/tmp.csv/x"), std::nullopt);
  EXPECT_EQ(ExternalFormatForPath("x.txt"), std::nullopt);
}

TEST(NormaliseKeyTest, LowerCaseAndCollapsedSpaces) {
  EXPECT_EQ(state::NormaliseKey("  Software \t  Engineering "), "software engineering");
  EXPECT_EQ(state::NormaliseKey("New York"), state::NormaliseKey("new  york"));
  EXPECT_EQ(state::NormaliseKey("Zürich"), "zürich");
  EXPECT_EQ(state::NormaliseKey(""), "");
}

TEST(MarketCsvTest, ParsesRowsWithDatesAndNumbers) {
  const ParsedExternalData d =
      Csv("date,industry,location,average_salary,postings,competition\n"
          "2024-01-01,Software,Berlin,72000.5,1200,3.5\n"
          "2024-01-08T10:00:00Z,Finance,London,65000,0,0\n");
  EXPECT_EQ(d.dataset, ExternalDataset::kMarket);
  ASSERT_EQ(d.market.size(), 2u);
  EXPECT_EQ(d.market[0], (MarketRow{Day(2024, 1, 1), "Software", "Berlin", 72000.5, 1200, 3.5}));
  EXPECT_EQ(d.market[1], (MarketRow{Day(2024, 1, 8), "Finance", "London", 65000, 0, 0}));
  EXPECT_TRUE(d.rejected.empty());
  EXPECT_TRUE(d.ignored_columns.empty());
  EXPECT_EQ(d.rows_read, 2);
  EXPECT_EQ(d.accepted(), 2u);
  EXPECT_EQ(d.duplicates_replaced, 0);
}

TEST(MarketCsvTest, HeaderAliasesCaseAndOrder) {
  const ParsedExternalData d =
      Csv("Applicants Per Posting,JOB_POSTINGS,Avg-Salary,Region,Sector,Date\n"
          "2.5,10,50000,Paris,Retail,2024-02-29\n");
  ASSERT_EQ(d.market.size(), 1u);
  EXPECT_EQ(d.market[0], (MarketRow{Day(2024, 2, 29), "Retail", "Paris", 50000, 10, 2.5}));
}

TEST(MarketCsvTest, ExtraColumnsAreIgnoredAndListed) {
  const ParsedExternalData d =
      Csv("date,source,industry,location,salary,postings,competition,,source\n"
          "2024-01-01,x,Tech,Oslo,1,2,3,,y\n");
  ASSERT_EQ(d.market.size(), 1u);
  EXPECT_EQ(d.ignored_columns, (std::vector<std::string>{"source", "(column 8)"}));
}

TEST(MarketCsvTest, QuotingCrlfAndBom) {
  const ParsedExternalData d =
      Csv("\xEF\xBB\xBF"
          "date,industry,location,average_salary,postings,competition\r\n"
          "\"2024-01-01\",\"Arts, \"\"Design\"\" & Media\",\" New York \",\"1e3\",+5,0.25\r\n"
          "\r\n"
          "2024-01-02,Tech,\"Zürich\",2,3,4");
  ASSERT_EQ(d.market.size(), 2u) << (d.rejected.empty() ? "" : d.rejected[0].message);
  EXPECT_EQ(d.market[0].industry, "Arts, \"Design\" & Media");
  EXPECT_EQ(d.market[0].location, "New York");
  EXPECT_EQ(d.market[0].average_salary, 1000);
  EXPECT_EQ(d.market[0].postings, 5);
  EXPECT_EQ(d.market[1].location, "Zürich");
  EXPECT_EQ(d.rows_read, 2);
}

TEST(MarketCsvTest, LineNumbersArePhysicalLines) {
  // A quoted field spanning two lines, then a bad row: the bad row starts on line 5.
  const ParsedExternalData d =
      Csv("date,industry,location,average_salary,postings,competition\n"
          "2024-01-01,Tech,Oslo,1,2,3\n"
          "2024-01-02,\"Tech\nnology\",Oslo,1,2,3\n"
          "2024-01-03,Tech,Oslo,abc,2,3\n"
          "\n"
          "2024-01-04,Tech,Oslo,1,-2,3\n");
  ASSERT_EQ(d.rejected.size(), 3u);
  EXPECT_EQ(d.rejected[0].line, 3);
  EXPECT_EQ(d.rejected[0].code, kRejectInvalidText);  // a newline is a control character
  EXPECT_NE(d.rejected[0].message.find("industry"), std::string::npos);
  EXPECT_EQ(d.rejected[1].line, 5);
  EXPECT_EQ(d.rejected[1].code, kRejectInvalidNumber);
  EXPECT_NE(d.rejected[1].message.find("average_salary"), std::string::npos);
  EXPECT_EQ(d.rejected[2].line, 7);
  EXPECT_EQ(d.rejected[2].code, kRejectNegativeValue);
  EXPECT_NE(d.rejected[2].message.find("postings"), std::string::npos);
  ASSERT_EQ(d.market.size(), 1u);
  EXPECT_EQ(d.rows_read, 4);
}

TEST(MarketCsvTest, RejectionCodes) {
  EXPECT_EQ(RejectRow("2024-01-01,,Oslo,1,2,3").code, kRejectMissingField);
  EXPECT_EQ(RejectRow("2024-01-01,  ,Oslo,1,2,3").code, kRejectMissingField);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,2,").code, kRejectMissingField);
  EXPECT_EQ(RejectRow("2024-13-01,Tech,Oslo,1,2,3").code, kRejectInvalidDate);
  EXPECT_EQ(RejectRow("2023-02-29,Tech,Oslo,1,2,3").code, kRejectInvalidDate);
  EXPECT_EQ(RejectRow("01/02/2024,Tech,Oslo,1,2,3").code, kRejectInvalidDate);
  EXPECT_EQ(RejectRow("1969-12-31,Tech,Oslo,1,2,3").code, kRejectInvalidDate);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,$1,2,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,nan,2,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,inf,2,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1e400,2,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,2.5,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,1 000,3").code, kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,-1,2,3").code, kRejectNegativeValue);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,2,-0.1").code, kRejectNegativeValue);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo," + std::string(1, '\x01') + ",2,3").code,
            kRejectInvalidNumber);
  EXPECT_EQ(RejectRow("2024-01-01,Te\x01h,Oslo,1,2,3").code, kRejectInvalidText);
  EXPECT_EQ(RejectRow("2024-01-01,Te\xff,Oslo,1,2,3").code, kRejectInvalidText);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,2").code, kRejectWrongFieldCount);
  EXPECT_EQ(RejectRow("2024-01-01,Tech,Oslo,1,2,3,4").code, kRejectWrongFieldCount);
  EXPECT_EQ(RejectRow("2024-01-01,\"Tech\"x,Oslo,1,2,3").code, kRejectMalformedCsv);

  const RejectedRow too_long = RejectRow("2024-01-01,Tech," + std::string(129, 'x') + ",1,2,3");
  EXPECT_EQ(too_long.code, kRejectFieldTooLong);
  EXPECT_NE(too_long.message.find("location"), std::string::npos);
  EXPECT_EQ(Csv(std::string(kHeader) + "2024-01-01,Tech," + std::string(128, 'x') + ",1,2,3\n")
                .market.size(),
            1u);
}

TEST(MarketCsvTest, MessagesArePrintableAscii) {
  const RejectedRow r = RejectRow("2024-01-01,Tech,Oslo,\xc3\xa9\x01,2,3");
  EXPECT_EQ(r.code, kRejectInvalidNumber);
  for (const char c : r.message) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << r.message;
  }
}

TEST(MarketCsvTest, WholeNumbersInOtherSpellings) {
  const ParsedExternalData d = Csv(std::string(kHeader) +
                                   "2024-01-01,Tech,Oslo,1,1200.0,3\n"
                                   "2024-01-02,Tech,Oslo,1,1.2e3,3\n"
                                   "2024-01-03,Tech,Oslo,-0,-0,-0\n");
  ASSERT_EQ(d.market.size(), 3u);
  EXPECT_EQ(d.market[0].postings, 1200);
  EXPECT_EQ(d.market[1].postings, 1200);
  EXPECT_EQ(d.market[2].postings, 0);
  EXPECT_FALSE(std::signbit(d.market[2].average_salary));
}

TEST(MarketCsvTest, DateTimesBecomeTheirUtcDate) {
  const ParsedExternalData d = Csv(std::string(kHeader) +
                                   "2024-01-01T23:30:00-02:00,A,X,1,1,1\n"
                                   "2024-01-01T00:30:00+01:00,B,X,1,1,1\n"
                                   "2024-01-01 12:00:00,C,X,1,1,1\n"
                                   "1970-01-01T00:30:00+01:00,D,X,1,1,1\n");
  ASSERT_EQ(d.market.size(), 4u);
  EXPECT_EQ(d.market[0].date, Day(2024, 1, 2));
  EXPECT_EQ(d.market[1].date, Day(2023, 12, 31));
  EXPECT_EQ(d.market[2].date, Day(2024, 1, 1));
  EXPECT_EQ(d.market[3].date, -1);
}

TEST(MarketCsvTest, DuplicateKeysLastWins) {
  const ParsedExternalData d = Csv(std::string(kHeader) +
                                   "2024-01-01,Tech,New York,1,1,1\n"
                                   "2024-01-01,Finance,New York,5,5,5\n"
                                   "2024-01-01,TECH, new  york ,2,2,2\n");
  ASSERT_EQ(d.market.size(), 2u);
  EXPECT_EQ(d.market[0], (MarketRow{Day(2024, 1, 1), "TECH", "new  york", 2, 2, 2}));
  EXPECT_EQ(d.market[1].industry, "Finance");
  EXPECT_EQ(d.duplicates_replaced, 1);
  EXPECT_EQ(d.rows_read, 3);
}

TEST(MarketCsvTest, WholeBodyErrors) {
  EXPECT_EQ(CsvError(""), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CsvError("\n\n"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CsvError("\xEF\xBB\xBF"), ErrorCode::kInvalidArgument);
  // Not a header: no known column.
  EXPECT_EQ(CsvError("2024-01-01,Tech,Oslo,1,2,3\n"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CsvError("[{\"date\": \"2024-01-01\"}]"), ErrorCode::kInvalidArgument);
  // A required column missing.
  const auto missing = ParseExternalData(
      ExternalDataset::kMarket, "date,industry,location,salary,postings\n", ExternalFormat::kCsv);
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("competition"), std::string::npos);
  // Two aliases of one column.
  EXPECT_EQ(CsvError("date,industry,location,salary,avg_salary,postings,competition\n"),
            ErrorCode::kInvalidArgument);
  // Unterminated quote.
  EXPECT_EQ(CsvError(std::string(kHeader) + "2024-01-01,\"Tech,Oslo,1,2,3\n"),
            ErrorCode::kInvalidArgument);
}

TEST(MarketCsvTest, HeaderOnlyIsEmptyButValid) {
  const ParsedExternalData d = Csv(kHeader);
  EXPECT_EQ(d.accepted(), 0u);
  EXPECT_EQ(d.rows_read, 0);
}

TEST(MarketCsvTest, RowLimit) {
  std::string body(kHeader);
  for (int i = 0; i < 5; ++i) body += "2024-01-0" + std::to_string(i + 1) + ",T,L,1,1,1\n";
  ExternalParseOptions options;
  options.max_rows = 5;
  EXPECT_TRUE(
      ParseExternalData(ExternalDataset::kMarket, body, ExternalFormat::kCsv, options).ok());
  options.max_rows = 4;
  EXPECT_EQ(ParseExternalData(ExternalDataset::kMarket, body, ExternalFormat::kCsv, options)
                .status()
                .code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseExternalData(ExternalDataset::kMarket, "[" + std::string("{},{},{},{},") + "{}]",
                              ExternalFormat::kJson, options)
                .status()
                .code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseExternalData(ExternalDataset::kMarket, "{}\n{}\n{}\n{}\n{}\n",
                              ExternalFormat::kJson, options)
                .status()
                .code(),
            ErrorCode::kInvalidArgument);
}

TEST(MarketJsonTest, ArrayOfObjects) {
  const ParsedExternalData d = Json(R"([
    {"date": "2024-01-01", "industry": "Tech", "location": "Oslo", "average_salary": 70000,
     "postings": 12, "competition": 3.25},
    {"Date": "2024-01-02", "Sector": "Tech", "Region": "Oslo", "avg_salary": "71000.5",
     "job_postings": "13", "applicants_per_posting": 3, "source": "acme"},
    {"date": "2024-01-03", "industry": "Tech", "location": "Oslo"},
    [1, 2],
    {"date": 20240104, "industry": "Tech", "location": "Oslo", "salary": 1, "postings": 1,
     "competition": 1}
  ])");
  ASSERT_EQ(d.market.size(), 2u);
  EXPECT_EQ(d.market[0], (MarketRow{Day(2024, 1, 1), "Tech", "Oslo", 70000, 12, 3.25}));
  EXPECT_EQ(d.market[1], (MarketRow{Day(2024, 1, 2), "Tech", "Oslo", 71000.5, 13, 3}));
  EXPECT_EQ(d.ignored_columns, (std::vector<std::string>{"source"}));
  ASSERT_EQ(d.rejected.size(), 3u);
  EXPECT_EQ(d.rejected[0].line, 3);
  EXPECT_EQ(d.rejected[0].code, kRejectMissingField);
  EXPECT_NE(d.rejected[0].message.find("average_salary"), std::string::npos);
  EXPECT_EQ(d.rejected[1].line, 4);
  EXPECT_EQ(d.rejected[1].code, kRejectNotObject);
  EXPECT_EQ(d.rejected[2].line, 5);
  EXPECT_EQ(d.rejected[2].code, kRejectWrongType);
  EXPECT_NE(d.rejected[2].message.find("date"), std::string::npos);
  EXPECT_EQ(d.rows_read, 5);
}

TEST(MarketJsonTest, JsonLinesUsePhysicalLines) {
  const ParsedExternalData d = Json(
      "{\"date\":\"2024-01-01\",\"industry\":\"A\",\"location\":\"X\",\"salary\":1,"
      "\"postings\":1,\"competition\":1}\r\n"
      "\r\n"
      "{\"date\":\"2024-01-02\",\"industry\":\"A\",\"location\":\"X\",\"salary\":-1,"
      "\"postings\":1,\"competition\":1}\n"
      "{not json\n"
      "{\"date\":\"2024-01-03\",\"industry\":\"A\",\"location\":\"X\",\"salary\":1,"
      "\"postings\":1.5,\"competition\":1}\n"
      "{\"date\":\"2024-01-04\",\"industry\":\"A\",\"location\":\"X\",\"salary\":1,"
      "\"avg_salary\":2,\"postings\":1,\"competition\":1}\n"
      "\"a string\"\n");
  ASSERT_EQ(d.market.size(), 1u);
  ASSERT_EQ(d.rejected.size(), 5u);
  EXPECT_EQ(d.rejected[0].line, 3);
  EXPECT_EQ(d.rejected[0].code, kRejectNegativeValue);
  EXPECT_EQ(d.rejected[1].line, 4);
  EXPECT_EQ(d.rejected[1].code, kRejectInvalidJson);
  EXPECT_EQ(d.rejected[2].line, 5);
  EXPECT_EQ(d.rejected[2].code, kRejectInvalidNumber);
  EXPECT_EQ(d.rejected[3].line, 6);
  EXPECT_EQ(d.rejected[3].code, kRejectDuplicateField);
  EXPECT_EQ(d.rejected[4].line, 7);
  EXPECT_EQ(d.rejected[4].code, kRejectNotObject);
  EXPECT_EQ(d.rows_read, 6);
}

TEST(MarketJsonTest, SingleObjectIsOneRow) {
  const ParsedExternalData d = Json(R"({
    "date": "2024-01-01", "industry": "A", "location": "X", "salary": 1, "postings": 1,
    "competition": 1
  })");
  EXPECT_EQ(d.market.size(), 1u);
}

TEST(MarketJsonTest, ValueTypes) {
  auto code = [](std::string_view fields) {
    const ParsedExternalData d =
        Json("[{\"date\":\"2024-01-01\",\"industry\":\"A\",\"location\":\"X\"," +
             std::string(fields) + "}]");
    return d.rejected.empty() ? std::string("ok") : d.rejected[0].code;
  };
  EXPECT_EQ(code(R"("salary":1,"postings":1,"competition":1)"), "ok");
  EXPECT_EQ(code(R"("salary":1,"postings":1e3,"competition":1)"), "ok");
  EXPECT_EQ(code(R"("salary":1,"postings":18446744073709551615,"competition":1)"),
            kRejectInvalidNumber);
  EXPECT_EQ(code(R"("salary":1,"postings":-3,"competition":1)"), kRejectNegativeValue);
  EXPECT_EQ(code(R"("salary":null,"postings":1,"competition":1)"), kRejectMissingField);
  EXPECT_EQ(code(R"("salary":true,"postings":1,"competition":1)"), kRejectWrongType);
  EXPECT_EQ(code(R"("salary":{},"postings":1,"competition":1)"), kRejectWrongType);
  EXPECT_EQ(code(R"("salary":"","postings":1,"competition":1)"), kRejectMissingField);
  EXPECT_EQ(code(R"("salary":"x","postings":1,"competition":1)"), kRejectInvalidNumber);
  const ParsedExternalData d = Json(
      R"([{"date":"2024-01-01","industry":5,"location":"X","salary":1,"postings":1,"competition":1}])");
  ASSERT_EQ(d.rejected.size(), 1u);
  EXPECT_EQ(d.rejected[0].code, kRejectWrongType);
  EXPECT_NE(d.rejected[0].message.find("industry"), std::string::npos);
}

TEST(MarketJsonTest, WholeBodyErrors) {
  EXPECT_EQ(JsonError(""), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JsonError("  \n"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JsonError("date,industry\n"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JsonError("[{\"date\": 1}"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JsonError("{nope\n{nope either\n"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JsonError(std::string(100, '[') + std::string(100, ']')), ErrorCode::kInvalidArgument);
  const ParsedExternalData empty = Json("[]");
  EXPECT_EQ(empty.accepted(), 0u);
  EXPECT_TRUE(empty.rejected.empty());
}

TEST(MarketJsonTest, DeepLinesAreRejectedNotFatal) {
  const ParsedExternalData d = Json(
      "{\"date\":\"2024-01-01\",\"industry\":\"A\",\"location\":\"X\",\"salary\":1,"
      "\"postings\":1,\"competition\":1}\n{\"a\":" +
      std::string(100, '[') + std::string(100, ']') + "}\n");
  EXPECT_EQ(d.market.size(), 1u);
  ASSERT_EQ(d.rejected.size(), 1u);
  EXPECT_EQ(d.rejected[0].line, 2);
  EXPECT_EQ(d.rejected[0].code, kRejectInvalidJson);
}

TEST(MarketJsonTest, IgnoredKeysAreCapped) {
  std::string body = "{";
  for (int i = 0; i < 200; ++i) body += "\"k" + std::to_string(i) + "\":1,";
  body += "\"date\":\"2024-01-01\"}";
  const ParsedExternalData d = Json(body);
  EXPECT_EQ(d.ignored_columns.size(), kMaxIgnoredColumnsListed);
}

TEST(BenchmarksTest, CsvAndJson) {
  const ParsedExternalData csv =
      Csv("date,industry,metric,value\n"
          "2024-01-01,Tech,response_rate,0.12\n"
          "2024-01-01,Tech,time_to_offer_days,31\n"
          "2024-01-01,tech,Response_Rate,0.15\n"
          "2024-01-01,Tech,yoy_change,-2.5\n",
          ExternalDataset::kBenchmarks);
  ASSERT_EQ(csv.benchmarks.size(), 3u);
  EXPECT_TRUE(csv.market.empty());
  EXPECT_EQ(csv.dataset, ExternalDataset::kBenchmarks);
  EXPECT_EQ(csv.benchmarks[0], (BenchmarkRow{Day(2024, 1, 1), "tech", "Response_Rate", 0.15}));
  EXPECT_EQ(csv.benchmarks[2].value, -2.5);  // negative values are fine here
  EXPECT_EQ(csv.duplicates_replaced, 1);

  const ParsedExternalData json = Json(
      R"([{"date":"2024-01-01","industry":"Tech","metric_name":"response_rate","value":0.1},
          {"date":"2024-01-01","industry":"Tech","metric":"response_rate"}])",
      ExternalDataset::kBenchmarks);
  ASSERT_EQ(json.benchmarks.size(), 1u);
  ASSERT_EQ(json.rejected.size(), 1u);
  EXPECT_EQ(json.rejected[0].code, kRejectMissingField);
  EXPECT_NE(json.rejected[0].message.find("value"), std::string::npos);

  // The market header is not a benchmarks header.
  EXPECT_EQ(CsvError(kHeader, ExternalDataset::kBenchmarks), ErrorCode::kInvalidArgument);
}

TEST(IndicatorsTest, CsvAndJson) {
  const ParsedExternalData csv =
      Csv("Country,Indicator,Date,Value\n"
          "Germany,unemployment_rate,2024-01-01,5.9\n"
          "Germany,gdp_growth,2024-01-01,-0.3\n"
          "Germany,gdp_growth,2024-01-01,x\n",
          ExternalDataset::kIndicators);
  ASSERT_EQ(csv.indicators.size(), 2u);
  EXPECT_EQ(csv.indicators[0],
            (IndicatorRow{Day(2024, 1, 1), "Germany", "unemployment_rate", 5.9}));
  EXPECT_EQ(csv.indicators[1].value, -0.3);
  ASSERT_EQ(csv.rejected.size(), 1u);
  EXPECT_EQ(csv.rejected[0].line, 4);

  const ParsedExternalData json =
      Json("{\"date\":\"2024-03-01\",\"region\":\"EU\",\"series\":\"cpi\",\"value\":2}\n",
           ExternalDataset::kIndicators);
  ASSERT_EQ(json.indicators.size(), 1u);
  EXPECT_EQ(json.indicators[0], (IndicatorRow{Day(2024, 3, 1), "EU", "cpi", 2}));
}

}  // namespace
}  // namespace ca::services
