#include "ingest/url_context.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace ca::ingest {
namespace {

std::string ScrubbedQuery(std::string_view q) {
  std::string out;
  return ScrubQuery(q, &out) ? out : std::string(q);
}

std::string ScrubbedUrl(std::string_view url) {
  std::string out;
  return ScrubUrl(url, &out) ? out : std::string(url);
}

std::string_view ChannelOf(std::string_view referrer, std::string_view page) {
  const std::optional<ParsedUrl> url = ParseUrl(page);
  return ChannelName(ClassifyChannel(referrer, page, ExtractUtm(url ? url->query : "")));
}

TEST(UrlContextTest, ParsesAbsoluteUrls) {
  const std::optional<ParsedUrl> url =
      ParseUrl("HTTPS://Jane:Secret@WWW.Example.COM:8443/Jobs/123?q=Senior&x=1#Top");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "www.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/Jobs/123");
  EXPECT_EQ(url->query, "q=Senior&x=1");
  EXPECT_EQ(url->fragment, "Top");

  const std::optional<ParsedUrl> bare = ParseUrl("http://example.com");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
  EXPECT_EQ(bare->port, std::nullopt);
  EXPECT_EQ(ParseUrl("http://example.com?a=1")->path, "/");
  EXPECT_EQ(ParseUrl("http://example.com#f")->fragment, "f");
  EXPECT_EQ(ParseUrl("http://example.com:/x")->port, std::nullopt);
  EXPECT_EQ(ParseUrl("  https://example.com/a b \n")->path, "/a b");

  const std::optional<ParsedUrl> app = ParseUrl("android-app://com.google.android.gm/");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->scheme, "android-app");
  EXPECT_EQ(app->host, "com.google.android.gm");

  const std::optional<ParsedUrl> mail = ParseUrl("mailto:a@b.io");
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->scheme, "mailto");
  EXPECT_EQ(mail->host, "");
  EXPECT_EQ(mail->path, "a@b.io");
  EXPECT_EQ(ParseUrl("file:///etc/hosts")->path, "/etc/hosts");
}

TEST(UrlContextTest, ParsesIpv6Hosts) {
  const std::optional<ParsedUrl> url = ParseUrl("http://[::1]:8080/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "[::1]");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/x");
  EXPECT_EQ(ParseUrl("http://[2001:DB8::1]")->host, "[2001:db8::1]");
  for (const char* bad : {"http://[::1", "http://[]/", "http://[x::1]/", "http://[::1]x/",
                          "http://[127.0.0.1]/", "http://::1/"}) {
    EXPECT_EQ(ParseUrl(bad), std::nullopt) << bad;
  }
}

TEST(UrlContextTest, ParsesRelativeReferences) {
  const std::optional<ParsedUrl> url = ParseUrl("/jobs/123?x=1#a");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "");
  EXPECT_EQ(url->host, "");
  EXPECT_EQ(url->path, "/jobs/123");
  EXPECT_EQ(url->query, "x=1");
  EXPECT_EQ(url->fragment, "a");
  EXPECT_EQ(ParseUrl("?q=1")->path, "");
  EXPECT_EQ(ParseUrl("?q=1")->query, "q=1");
  EXPECT_EQ(ParseUrl("../a")->path, "../a");
  const std::optional<ParsedUrl> cdn = ParseUrl("//CDN.example.com/a.js");
  ASSERT_TRUE(cdn);
  EXPECT_EQ(cdn->scheme, "");
  EXPECT_EQ(cdn->host, "cdn.example.com");
}

TEST(UrlContextTest, RefusesWhatCannotBeAUrl) {
  for (const char* bad : {"",
                          "   ",
                          "hello",
                          "example.com/jobs",
                          "http://",
                          "http:///x",
                          "https:example.com",
                          "http://exa mple.com/",
                          "http://exa%6Dple.com/",
                          "http://example.com:99999/",
                          "http://example.com:8o/",
                          "http://example.com:123456/",
                          "http://a/b\nc",
                          "http://a/\x7f",
                          "//",
                          "///x",
                          "http://user@/x",
                          "http://b\xc3\xbc"
                          "cher.de/",
                          "://x",
                          "1http://x"}) {
    EXPECT_EQ(ParseUrl(bad), std::nullopt) << bad;
  }
  std::string url = "https://example.com/";
  url.append(kMaxUrlBytes - url.size(), 'a');
  EXPECT_TRUE(ParseUrl(url));
  url.push_back('a');
  EXPECT_EQ(ParseUrl(url), std::nullopt);
}

TEST(UrlContextTest, ReferrerHostIsLowerCaseWithoutWww) {
  EXPECT_EQ(ReferrerHost("https://WWW.Google.co.uk/search?q=x"), "google.co.uk");
  EXPECT_EQ(ReferrerHost("https://www2.example.com/"), "www2.example.com");
  EXPECT_EQ(ReferrerHost("https://www.com/"), "www.com");
  EXPECT_EQ(ReferrerHost("http://[::1]:8080/x"), "[::1]");
  EXPECT_EQ(ReferrerHost("android-app://com.linkedin.android"), "com.linkedin.android");
  EXPECT_EQ(ReferrerHost("/internal"), "");
  EXPECT_EQ(ReferrerHost("not a url"), "");
  EXPECT_EQ(WithoutWww("www.example.com"), "example.com");
  EXPECT_EQ(WithoutWww("www.localhost"), "www.localhost");
}

TEST(UrlContextTest, SensitiveParametersAreRedacted) {
  EXPECT_EQ(ScrubbedQuery("email=jane&e-mail=x&Phone=1&tel=2&password=p&access_token=t&q=java"),
            "email=[redacted]&e-mail=[redacted]&Phone=[redacted]&tel=[redacted]&password=[redacted]"
            "&access_token=[redacted]&q=java");
  EXPECT_EQ(ScrubbedQuery("first_name=Jane&lastName=Doe&name=J&user[email]=x&X-Amz-Signature=ab"),
            "first_name=[redacted]&lastName=[redacted]&name=[redacted]&user[email]=[redacted]"
            "&X-Amz-Signature=[redacted]");
  EXPECT_EQ(ScrubbedQuery("code=4/0Ab&state=xyz"), "code=[redacted]&state=xyz");
  EXPECT_EQ(ScrubbedQuery("%65mail=x"), "%65mail=[redacted]");  // name percent-encoded
  // Empty values and names without a value stay; names that only look alike too.
  for (const char* kept : {"email=", "email", "email&x=1", "keyword=java&promo_code=X1&pass_type=a",
                           "utm_source=google&username_hint"}) {
    EXPECT_EQ(ScrubbedQuery(kept), kept);
  }
}

TEST(UrlContextTest, PiiInValuesIsReplacedAfterDecoding) {
  EXPECT_EQ(ScrubbedQuery("q=jane.doe%40example.com&page=2"), "q=[email]&page=2");
  EXPECT_EQ(ScrubbedQuery("q=contact+jane%40example.com+now"), "q=contact+[email]+now");
  EXPECT_EQ(ScrubbedQuery("ref=%2B49+30+1234567"), "ref=[phone]");
  EXPECT_EQ(ScrubbedQuery("c=4111%201111%201111%201111"), "c=[card]");
  EXPECT_EQ(ScrubbedQuery("note=a%26b%20x@y.io"), "note=a%26b+[email]");  // '&' stays encoded
  // Names are checked too, and a name that was an address takes its value with it.
  EXPECT_EQ(ScrubbedQuery("jane%40example.com=1&x=2"), "[email]=[redacted]&x=2");
  EXPECT_EQ(ScrubbedQuery("jane@example.com"), "[email]");
}

TEST(UrlContextTest, ScrubQueryKeepsOrderAndUnchangedText) {
  EXPECT_EQ(ScrubbedQuery("a=1&&b=%7e&email=x&c=&d=a@b.io&e"),
            "a=1&&b=%7e&email=[redacted]&c=&d=[email]&e");
  EXPECT_EQ(ScrubbedQuery("?email=x&b=2"), "?email=[redacted]&b=2");
  std::string out = "untouched";
  for (const char* clean : {"", "?", "&", "=", "a=1&b=2", "q=senior+c%2B%2B+engineer",
                            "id=1234567890", "d=2026-11-28", "x=%zz%4", "email=[redacted]"}) {
    EXPECT_FALSE(ScrubQuery(clean, &out)) << clean;
  }
  EXPECT_EQ(out, "untouched");
  // Scrubbing twice changes nothing more.
  const std::string once = ScrubbedQuery("a=x%40y.io&token=t&b=%2B1+555+123+4567&c=d");
  EXPECT_FALSE(ScrubQuery(once, &out)) << once;
}

TEST(UrlContextTest, ScrubUrlCoversUserInfoPathQueryAndFragment) {
  EXPECT_EQ(ScrubbedUrl("https://jane:hunter2@example.com/x"), "https://example.com/x");
  EXPECT_EQ(ScrubbedUrl("https://example.com/users/jane%40example.com/cv?email=j&q=1#top"),
            "https://example.com/users/[email]/cv?email=[redacted]&q=1#top");
  EXPECT_EQ(ScrubbedUrl("https://app.example.com/cb#access_token=abc&token_type=bearer"),
            "https://app.example.com/cb#access_token=[redacted]&token_type=[redacted]");
  EXPECT_EQ(ScrubbedUrl("/jobs#/apply?phone=123&step=2"), "/jobs#/apply?phone=[redacted]&step=2");
  EXPECT_EQ(ScrubbedUrl("/p/call +49 30 1234567"), "/p/call%20[phone]");
  EXPECT_EQ(ScrubbedUrl("mailto:jane@example.com"), "mailto:[email]");
  EXPECT_EQ(ScrubbedUrl(" http://[::1]:8080/x?e=a@b.io "), " http://[::1]:8080/x?e=[email] ");
  // Not a URL: scrubbed as text.
  EXPECT_EQ(ScrubbedUrl("write to jane@example.com"), "write to [email]");
  std::string out = "untouched";
  for (const char* clean : {"", "https://example.com/jobs/1234567890?q=java#x",
                            "android-app://com.google.android.gm/", "garbage \x01\xff"}) {
    EXPECT_FALSE(ScrubUrl(clean, &out)) << clean;
  }
  EXPECT_EQ(out, "untouched");
}

TEST(UrlContextTest, ScrubUrlHandlesLongUrls) {
  const std::string prefix = "https://example.com/?pad=" + std::string(2 * kMaxUrlBytes, 'a');
  std::string out;
  ASSERT_TRUE(ScrubUrl(prefix + "&email=jane&q=x%40y.io", &out));
  EXPECT_EQ(out, prefix + "&email=[redacted]&q=[email]");
}

TEST(UrlContextTest, ExtractsUtmParameters) {
  const Utm utm = ExtractUtm(
      "?UTM_Source=Google&utm_medium=cpc&utm_campaign=Spring+Hiring%202026&utm_term=%20java%20"
      "&utm_content=ad%2Fv1&gclid=abc&fbclid=def");
  EXPECT_EQ(utm.source, "Google");
  EXPECT_EQ(utm.medium, "cpc");
  EXPECT_EQ(utm.campaign, "Spring Hiring 2026");
  EXPECT_EQ(utm.term, "java");
  EXPECT_EQ(utm.content, "ad/v1");
  EXPECT_EQ(utm.click_id, "gclid");
  EXPECT_TRUE(utm.Tagged());
  EXPECT_FALSE(ExtractUtm("a=1&utm_source=&utm_x=y").Tagged());
  EXPECT_EQ(ExtractUtm("utm_source=&utm_source=first&utm_source=second").source, "first");
  EXPECT_EQ(ExtractUtm("utm_content=mail+jane%40example.com").content, "mail [email]");
  EXPECT_EQ(ExtractUtm("utm_term=a%00b%0Ac%FFd").term,
            "a b c\xef\xbf\xbd"
            "d");
  EXPECT_EQ(ExtractUtm("li_fat_id=1&gclid=2").click_id, "li_fat_id");
}

TEST(UrlContextTest, UtmValuesAreCutAtACharacterBoundary) {
  std::string value(kMaxUtmValueBytes - 1, 'a');
  const Utm utm = ExtractUtm("utm_campaign=" + value + "%C3%A9zzz");  // 'é' straddles the cap
  EXPECT_EQ(utm.campaign, value);
  EXPECT_EQ(ExtractUtm("utm_campaign=" + std::string(500, 'b')).campaign.size(), kMaxUtmValueBytes);
}

TEST(UrlContextTest, PaidTrafficRule) {
  EXPECT_TRUE(IsPaidTraffic({.medium = "CPC"}));
  EXPECT_TRUE(IsPaidTraffic({.medium = "cpm"}));
  EXPECT_TRUE(IsPaidTraffic({.medium = "paid_social"}));
  EXPECT_TRUE(IsPaidTraffic({.medium = "ppc"}));
  EXPECT_TRUE(IsPaidTraffic({.click_id = "msclkid"}));
  EXPECT_FALSE(IsPaidTraffic({.click_id = "fbclid"}));
  EXPECT_FALSE(IsPaidTraffic({.source = "google", .medium = "organic"}));
  EXPECT_FALSE(IsPaidTraffic({}));
}

TEST(UrlContextTest, ChannelNames) {
  EXPECT_EQ(ChannelName(Channel::kDirect), "direct");
  EXPECT_EQ(ChannelName(Channel::kSearch), "search");
  EXPECT_EQ(ChannelName(Channel::kSocial), "social");
  EXPECT_EQ(ChannelName(Channel::kEmail), "email");
  EXPECT_EQ(ChannelName(Channel::kReferral), "referral");
}

TEST(UrlContextTest, CampaignParametersDecideFirst) {
  const char* page = "https://jobs.example.com/?";
  const std::string p = page;
  EXPECT_EQ(ChannelOf("https://www.google.com/", p + "utm_medium=Newsletter"), "email");
  EXPECT_EQ(ChannelOf("", p + "utm_source=e-mail&utm_medium=x"), "email");
  EXPECT_EQ(ChannelOf("", p + "utm_source=mailchimp"), "email");
  EXPECT_EQ(ChannelOf("", p + "utm_source=google&utm_medium=cpc"), "search");
  EXPECT_EQ(ChannelOf("", p + "utm_source=Bing&utm_medium=paid"), "search");
  EXPECT_EQ(ChannelOf("", p + "utm_source=linkedin&utm_medium=paid_social"), "social");
  EXPECT_EQ(ChannelOf("https://www.google.com/", p + "utm_source=facebook"), "social");
  EXPECT_EQ(ChannelOf("", p + "utm_source=m.facebook.com"), "social");
  EXPECT_EQ(ChannelOf("", p + "utm_source=https%3A%2F%2Fwww.bing.com%2F"), "search");
  EXPECT_EQ(ChannelOf("", p + "utm_source=mail.google.com"), "email");
  EXPECT_EQ(ChannelOf("", p + "utm_source=acme&utm_medium=social"), "social");
  EXPECT_EQ(ChannelOf("", p + "utm_source=acme&utm_medium=organic"), "search");
  EXPECT_EQ(ChannelOf("", p + "gclid=abc"), "search");
  EXPECT_EQ(ChannelOf("", p + "msclkid=abc"), "search");
  EXPECT_EQ(ChannelOf("", p + "fbclid=abc"), "social");
  EXPECT_EQ(ChannelOf("", p + "li_fat_id=abc"), "social");
  // Paid from an unknown network: the referrer decides, else a tagged visit is a referral.
  EXPECT_EQ(ChannelOf("https://duckduckgo.com/", p + "utm_source=acme&utm_medium=cpc"), "search");
  EXPECT_EQ(ChannelOf("", p + "utm_source=indeed&utm_medium=cpc"), "referral");
  EXPECT_EQ(ChannelOf("https://jobs.example.com/a", p + "utm_campaign=banner"), "referral");
}

TEST(UrlContextTest, ReferrerHostsDecideWithoutCampaign) {
  const char* page = "https://jobs.example.com/jobs/1";
  for (const char* search : {"https://www.google.com/",
                             "https://google.co.uk/search?q=x",
                             "https://www.google.de/",
                             "https://www.google.com.br/",
                             "https://images.google.fr/",
                             "https://www.bing.com/search",
                             "https://cn.bing.com/",
                             "https://duckduckgo.com/",
                             "https://uk.search.yahoo.com/",
                             "https://yahoo.co.jp/",
                             "https://yandex.ru/",
                             "https://m.baidu.com/",
                             "https://www.ecosia.org/",
                             "https://www.startpage.com/",
                             "https://www.qwant.com/",
                             "https://search.brave.com/",
                             "https://m.search.naver.com/",
                             "https://www.seznam.cz/",
                             "android-app://com.google.android.googlequicksearchbox/",
                             "HTTPS://WWW.GOOGLE.COM/"}) {
    EXPECT_EQ(ChannelOf(search, page), "search") << search;
  }
  for (const char* social :
       {"https://m.facebook.com/", "https://l.facebook.com/l.php", "https://fb.me/x",
        "https://www.instagram.com/", "https://t.co/abc", "https://twitter.com/", "https://x.com/",
        "https://www.linkedin.com/feed/", "https://lnkd.in/abc", "https://old.reddit.com/r/jobs",
        "https://www.youtube.com/", "https://www.tiktok.com/", "https://www.pinterest.de/",
        "https://www.xing.com/", "android-app://com.linkedin.android/"}) {
    EXPECT_EQ(ChannelOf(social, page), "social") << social;
  }
  for (const char* email : {"https://mail.google.com/mail/u/0/", "https://outlook.live.com/mail/",
                            "https://mail.yahoo.com/", "https://de.mail.yahoo.com/",
                            "https://webmail.acme.de/", "android-app://com.google.android.gm/"}) {
    EXPECT_EQ(ChannelOf(email, page), "email") << email;
  }
  for (const char* referral :
       {"https://notgoogle.com/", "https://google.com.evil.net/", "https://google.evil.net/",
        "https://docs.google.com/document/d/1", "https://www.glassdoor.com/", "https://t.com/",
        "https://box.com/", "https://facebook.com.evil.net/", "https://my-x.com/",
        "https://example.org/", "http://[::1]:8080/x", "https://other.github.io/"}) {
    EXPECT_EQ(ChannelOf(referral, page), "referral") << referral;
  }
}

TEST(UrlContextTest, NoReferrerOrTheSameSiteIsDirect) {
  const char* page = "https://jobs.example.com/jobs/1";
  for (const char* direct :
       {"", "not a url", "/relative", "https://jobs.example.com/", "https://www.example.com/",
        "https://example.com/x", "https://EXAMPLE.com/", "\xff\xfe"}) {
    EXPECT_EQ(ChannelOf(direct, page), "direct") << direct;
  }
  EXPECT_EQ(ChannelOf("https://shop.example.co.uk/", "https://example.co.uk/"), "direct");
  EXPECT_EQ(ChannelOf("https://other.co.uk/", "https://example.co.uk/"), "referral");
  EXPECT_EQ(ChannelOf("https://me.github.io/a", "https://me.github.io/b"), "direct");
  EXPECT_EQ(ChannelOf("http://[::1]:8080/x", "http://[::1]:8080/y"), "direct");
  // A site's own pages are direct even when it is in a table.
  EXPECT_EQ(ChannelOf("https://www.linkedin.com/a", "https://linkedin.com/b"), "direct");
  // A relative page URL has no host to compare.
  EXPECT_EQ(ChannelOf("https://jobs.example.com/", "/jobs/1"), "referral");
}

TEST(UrlContextTest, ArbitraryBytesNeverBreakAnything) {
  // " a@b.io" starts with a space: ScrubString keeps an address whose local part runs into a
  // phone or card number before it ("+49 30 1234567.x@b.io"), a PiiScrubber matter.
  using std::string_view_literals::operator""sv;
  constexpr std::string_view kPieces =  // separated by '|'
      "http|://|[|]|:|@|/|?|#|&|=|%|%4|%40|+|www.|google|.co.uk|utm_source|email| a@b.io|"
      "+49 30 1234567|\xc3|\xa9|\0| |9999999"sv;
  std::vector<std::string_view> pieces;
  for (size_t pos = 0; pos <= kPieces.size();) {
    const size_t bar = std::min(kPieces.find('|', pos), kPieces.size());
    pieces.push_back(kPieces.substr(pos, bar - pos));
    pos = bar + 1;
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (size_t k = rng() % 12; k > 0; --k) text.append(pieces[rng() % pieces.size()]);
    if (const std::optional<ParsedUrl> url = ParseUrl(text)) {
      for (const char c : url->scheme + url->host) EXPECT_FALSE(c >= 'A' && c <= 'Z') << text;
    }
    std::string out;
    if (ScrubUrl(text, &out)) {
      EXPECT_NE(out, text);
    } else {
      out = text;
    }
    EXPECT_EQ(out.find("a@b.io"), std::string::npos) << text << " -> " << out;
    const Utm utm = ExtractUtm(text);
    for (const std::string* v :
         {&utm.source, &utm.medium, &utm.campaign, &utm.term, &utm.content}) {
      EXPECT_LE(v->size(), kMaxUtmValueBytes);
    }
    const std::string_view name = ChannelName(ClassifyChannel(text, text, utm));
    EXPECT_FALSE(name.empty());
    (void)ReferrerHost(text);
  }
}

}  // namespace
}  // namespace ca::ingest
