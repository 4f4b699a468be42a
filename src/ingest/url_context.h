#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ca::ingest {

/// The URL part of ingest enrichment: parsing page and referrer URLs, removing personal data from
/// them, reading campaign (UTM) parameters and classifying where a visit came from. Pure
/// functions of their arguments: no I/O, no global state, thread-safe; any bytes are accepted
/// (input is untrusted) and nothing here reads past its input.

/// ParseUrl refuses longer input.
inline constexpr size_t kMaxUrlBytes = 4096;
/// UTM values are cut to this many bytes (at a UTF-8 character boundary).
inline constexpr size_t kMaxUtmValueBytes = 100;

/// The parts of a URL (RFC 3986 syntax). Owns its text.
struct ParsedUrl {
  std::string scheme;  ///< lower case, without ':'; empty for a relative reference
  /// Lower case, ASCII only; an IPv6 literal keeps its brackets ("[::1]"); empty without an
  /// authority ("mailto:a@b.io", "/jobs"). The user-info part ("user:pass@") is never kept.
  std::string host;
  std::optional<uint16_t> port;  ///< only when written; no default for the scheme
  /// As written (not percent-decoded); "/" when an authority is followed by no path. Empty for a
  /// relative reference without one ("?q=1").
  std::string path;
  std::string query;     ///< raw, without the '?'
  std::string fragment;  ///< raw, without the '#'
};

/// Parses `url`, an absolute URL ("https://www.example.com:8443/jobs?q=1#top",
/// "android-app://com.google.android.gm/", "mailto:a@b.io") or a relative reference starting
/// with '/', '?', '#' or '.' ("/jobs/123?x=1", "//cdn.example.com/a.js"). Leading and trailing
/// spaces and control characters are ignored. nullopt for anything else: more than kMaxUrlBytes,
/// control characters inside, a bare word ("hello", "example.com/jobs": no scheme), a malformed
/// or non-ASCII host, a port that is not a number up to 65535, http(s)/ws(s)/ftp without a host.
std::optional<ParsedUrl> ParseUrl(std::string_view url);

/// `host` without one leading "www." (when something with a dot remains: "www.com" is kept), for
/// matching hosts against tables.
std::string_view WithoutWww(std::string_view host);

/// The host of `referrer_url`, lower case, without a leading "www."; empty when the referrer is
/// not a URL with a host.
std::string ReferrerHost(std::string_view referrer_url);

/// Removes personal data from a query string (the text after '?'; a leading '?' is kept).
/// Parameters are split at '&' and keep their order and raw text unless they change:
/// - the non-empty value of a sensitive parameter becomes "[redacted]" (kRedactedMarker). A name
///   is sensitive when, percent-decoded, PiiScrubber::IsSensitiveKey holds for it; or when, in
///   lower case with everything but letters and digits dropped, it contains email, phone,
///   signature or credential, or is one of: mail, tel, mobile, msisdn, fax, name, firstname,
///   lastname, fullname, surname, givenname, familyname, user, username, login, pass, pwd, pin,
///   otp, address, street, dob, birthdate, birthday, iban, key, code, auth, sig, jwt, sid,
///   session, sessionid. `name` is over-cautious (it is sometimes a filter), but a person's name
///   cannot be recognised from the value, so the parameter name decides; `code` covers OAuth
///   authorization codes;
/// - any other value (and any name) is percent-decoded ('+' as a space) and checked with
///   PiiScrubber::ScrubString; when that finds an e-mail address, phone or card number, the
///   scrubbed text ("[email]", "[phone]", "[card]" in place of what it found) is
///   percent-encoded back in its place.
/// Returns false and leaves `*out` untouched when nothing changed; else writes the scrubbed
/// query to `*out` and returns true.
bool ScrubQuery(std::string_view query, std::string* out);

/// Removes personal data from a whole URL as stored in context.page.url or page.referrer, of any
/// length: drops the user-info of its authority, scrubs its query (ScrubQuery) and its fragment
/// (as a query after its first '?' or when it holds a '='; else like the path), and replaces
/// path segments (percent-decoded) in which PiiScrubber::ScrubString finds something by their
/// scrubbed text, percent-encoded. Scheme, host, port and everything unchanged are kept byte for
/// byte. Text that does not start like a URL (a scheme, '/', '?', '#' or '.') is scrubbed as
/// plain text with ScrubString. Returns false and leaves `*out` untouched when nothing changed.
bool ScrubUrl(std::string_view url, std::string* out);

/// Campaign parameters of a page URL. Values are percent-decoded ('+' as a space), made valid
/// UTF-8 (invalid bytes become U+FFFD, control characters spaces), scrubbed with
/// PiiScrubber::ScrubString, trimmed and cut to kMaxUtmValueBytes. Case is kept.
struct Utm {
  std::string source;    ///< utm_source
  std::string medium;    ///< utm_medium
  std::string campaign;  ///< utm_campaign
  std::string term;      ///< utm_term
  std::string content;   ///< utm_content
  /// The name (lower case) of the first ad click-id parameter present, "" when none:
  /// search networks gclid, gbraid, wbraid (Google Ads), msclkid (Microsoft Ads), yclid (Yandex
  /// Direct); social networks fbclid (Facebook, also added to organic links), li_fat_id
  /// (LinkedIn), ttclid (TikTok), twclid (X), rdt_cid (Reddit), epik (Pinterest), sccid
  /// (Snapchat). The click id's value is not kept.
  std::string click_id;

  /// True when any field is set.
  bool Tagged() const;
};

/// Reads utm_source, utm_medium, utm_campaign, utm_term, utm_content (names in any case; the
/// first non-empty value of each wins) and the click id from `query` (the text after '?'; a
/// leading '?' is ignored).
Utm ExtractUtm(std::string_view query);

/// Whether a visit looks paid: utm_medium (any case) contains "cp" (cpc, cpm, cpv...), is ppc or
/// retargeting, or starts with "paid"; or a click id other than fbclid is present (Facebook adds
/// fbclid to organic links as well). A hint for reports; the channels below fold paid search and
/// paid social into search and social.
bool IsPaidTraffic(const Utm& utm);

/// Where a visit came from.
enum class Channel : uint8_t { kDirect, kSearch, kSocial, kEmail, kReferral };

/// "direct", "search", "social", "email", "referral".
std::string_view ChannelName(Channel channel);

/// The channel of a visit to `page_url` from `referrer_url` (either may be empty or not a URL)
/// with campaign parameters `utm` (ExtractUtm of the page URL's query). The first rule that
/// applies decides (utm values compared in lower case):
/// 1. utm_medium or utm_source is email, e-mail, e_mail, "e mail" or newsletter (or the source is
///    mailchimp) -> email;
/// 2. utm_source names a known search engine, social network or webmail (google, bing, yahoo,
///    duckduckgo, ddg, yandex, baidu, ecosia, startpage, qwant, brave, naver, seznam, ask, sogou,
///    kagi, adwords, googleads, bingads; facebook, fb, meta, instagram, ig, threads, twitter, x,
///    linkedin, reddit, youtube, yt, tiktok, pinterest, xing, mastodon, bluesky, bsky, snapchat,
///    whatsapp, telegram, vk, quora, tumblr, discord, hackernews; or a host in the tables
///    below) -> its channel;
/// 3. utm_medium social, social-network, social_network, social-media, social_media, sm,
///    "social network", "social media" -> social; utm_medium organic -> search;
/// 4. a click id -> search or social by its network (see Utm::click_id);
/// 5. a referrer with a host on a different site than the page's (sites compared by registrable
///    domain, approximated without the public suffix list: the last two labels, three when the
///    last two are a country's second level like co.uk or com.br, one more under a few hosting
///    suffixes like github.io; so www.example.com, jobs.example.com and example.com are one
///    site), matched against these tables after dropping "www." -> its channel, else referral:
///    - email (checked first): mail.google.com, inbox.google.com, outlook.live.com,
///      outlook.office.com, outlook.office365.com, mail.live.com, mail.yahoo.*, mail.aol.com,
///      mail.proton.me, mail.protonmail.com, mail.zoho.*, app.fastmail.com, mail.yandex.*,
///      e.mail.ru, navigator.gmx.net, navigator.web.de, mail.qq.com, email.t-online.de, any host
///      whose first label is webmail; the apps com.google.android.gm and
///      com.microsoft.office.outlook (android-app:// referrers);
///    - search: google.*, images.google.*, scholar.google.*, encrypted.google.com, bing.com,
///      duckduckgo.com, search.yahoo.*, yahoo.*, yandex.*, ya.ru, baidu.com, ecosia.org,
///      startpage.com, qwant.com, search.brave.com, search.naver.com, seznam.cz,
///      search.seznam.cz, so.com, sogou.com, search.aol.com, ask.com, kagi.com, search.daum.net,
///      coccoc.com, mojeek.com; the app com.google.android.googlequicksearchbox;
///    - social: facebook.com, fb.me, fb.com, messenger.com, instagram.com, threads.net, t.co,
///      twitter.com, x.com, linkedin.com, lnkd.in, reddit.com, redd.it, youtube.com, youtu.be,
///      tiktok.com, pinterest.*, pin.it, xing.com, vk.com, tumblr.com, quora.com, weibo.com,
///      snapchat.com, bsky.app, mastodon.social, news.ycombinator.com, t.me, web.telegram.org,
///      whatsapp.com, wa.me, discord.com; the apps com.facebook.katana, com.instagram.android,
///      com.linkedin.android, com.twitter.android, com.reddit.frontpage.
///    Hosts match by whole labels, never by substring ("notgoogle.com" and
///    "google.com.evil.net" are referrals). "name.*" stands for name followed by a public suffix
///    (one label, or co, com, net, org, ac, gov, edu, ne, or, go or gob followed by a two-letter
///    country code: google.de, google.co.uk, google.com.br). Entries
///    for google.*, yahoo.*, yandex.*, seznam.cz and the apps match that host only (docs.google.com
///    is a referral); the others also match their subdomains (m.facebook.com, uk.search.yahoo.com);
/// 6. campaign-tagged (any Utm field set) -> referral; else (no referrer, a referrer without a
///    host, or one on the page's own site) -> direct.
Channel ClassifyChannel(std::string_view referrer_url, std::string_view page_url, const Utm& utm);

/// ClassifyChannel in parts, for a caller that keeps what each URL gives (enrichment memoises
/// them per URL): ClassifyChannel(r, p, utm) is CombineChannel(ChannelOfCampaign(utm),
/// ReferrerChannelFactsOf(r), PageSiteOf(p), utm.Tagged()).
/// The channel the campaign parameters decide on their own (rules 1 to 4), if they do.
std::optional<Channel> ChannelOfCampaign(const Utm& utm);
/// What rule 5 needs of a referrer.
struct ReferrerChannelFacts {
  bool has_host = false;                 ///< the referrer is a URL with a host
  std::string site;                      ///< its host's site (without `www.`)
  Channel channel = Channel::kReferral;  ///< what its host gives when it is another site's
};
ReferrerChannelFacts ReferrerChannelFactsOf(std::string_view referrer_url);
/// The site of the page's host; empty when the page URL has none.
std::string PageSiteOf(std::string_view page_url);
Channel CombineChannel(std::optional<Channel> campaign, const ReferrerChannelFacts& referrer,
                       std::string_view page_site, bool tagged);

}  // namespace ca::ingest
