#include "ingest/privacy_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::ingest {
namespace {

event::Event Make(std::string context, std::string properties, uint32_t clean_tail = 0) {
  event::Event e;
  e.tenant = "acme";
  e.type = "page_view";
  e.context_json = std::move(context);
  e.properties_json = std::move(properties);
  e.clean_context_tail = clean_tail;
  return e;
}

TEST(PrivacyFilterTest, ABatchGivesWhatFilteringEachEventAloneGives) {
  // Runs of one context share one scrub; contexts that differ only in what is known clean (the
  // tail enrichment added) do not.
  const std::string ip = R"({"ip":"203.0.113.7","page":{"url":"/a"},"session":{"id":"s_x"}})";
  const std::string pii = R"({"ip":"198.51.100.23","note":"jane@doe.io","page":{"url":"/b"}})";
  const std::string plain = R"({"page":{"url":"/c"}})";
  const uint32_t session_tail = sizeof(R"("session":{"id":"s_x"})") - 1;
  // A tail said to be clean is left as it is, so the same bytes without that claim differ.
  const std::string claimed = R"({"page":{"url":"/d"},"x":"jane@doe.io"})";
  const uint32_t claimed_tail = sizeof(R"("x":"jane@doe.io")") - 1;
  std::vector<event::Event> batch = {
      Make(ip, R"({"a":1})"),
      Make(ip, R"({"email":"jane@doe.io"})"),
      Make(ip, R"({"a":2})", session_tail),
      Make(ip, R"({"a":3})", session_tail),
      Make(pii, R"({"b":"call +49 30 1234567"})"),
      Make(pii, R"({})"),
      Make(plain, R"({})"),
      Make(plain, R"({"password":"x"})"),
      Make(ip, R"({})"),
      Make(claimed, R"({})", claimed_tail),
      Make(claimed, R"({})"),
  };
  std::vector<event::Event> alone = batch;
  for (const PrivacyOptions& options :
       {PrivacyOptions(), PrivacyOptions{true, {"note"}, false}, PrivacyOptions{false, {}, true}}) {
    const PrivacyFilter filter(options);
    std::vector<event::Event> filtered = batch;
    filter.ApplyBatch(&filtered);
    std::vector<event::Event> each = alone;
    for (event::Event& e : each) filter.Apply(&e);
    for (size_t i = 0; i < batch.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(filtered[i].context_json, each[i].context_json);
      EXPECT_EQ(filtered[i].properties_json, each[i].properties_json);
      EXPECT_EQ(filtered[i].clean_context_tail, each[i].clean_context_tail);
    }
  }
  const PrivacyFilter filter{PrivacyOptions()};
  filter.ApplyBatch(&batch);
  for (size_t i : {0, 1, 2, 3, 8}) {
    EXPECT_NE(batch[i].context_json.find(R"("ip":"203.0.113.0")"), std::string::npos) << i;
  }
  EXPECT_EQ(batch[1].properties_json.find("jane"), std::string::npos);
  EXPECT_EQ(batch[5].context_json.find("jane"), std::string::npos);
  EXPECT_EQ(batch[5].context_json.find("198.51.100.23"), std::string::npos);
  EXPECT_NE(batch[9].context_json.find("jane"), std::string::npos);
  EXPECT_EQ(batch[10].context_json.find("jane"), std::string::npos);
}

}  // namespace
}  // namespace ca::ingest
