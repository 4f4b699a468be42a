#include "app/demo_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

namespace ca::app {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// Events generated while simulating local calendar day D are never earlier than
// D * kDay - (largest UTC offset of any city), so after day D everything older than
// (D + 1) * kDay - kWatermarkLag is final and can be released in order.
constexpr int64_t kWatermarkLag = 14 * kHour;

constexpr std::string_view kBaseUrl = "https://app.careercopilot.example";

// The catalogue of event types the generator emits (DESIGN.md "Domain").
enum class Type : uint8_t {
  kPageView,
  kButtonClick,
  kFormSubmit,
  kSearch,
  kFilterChange,
  kTimeSpent,
  kJobView,
  kJobSave,
  kJobShare,
  kJobApply,
  kApplicationStatusChanged,
  kInterviewScheduled,
  kInterviewFeedback,
  kOfferReceived,
  kOfferAccepted,
  kOfferRejected,
  kFollowUp,
  kLogin,
  kLogout,
  kError,
  kPerfMetric,
  kTaskRun,
};

constexpr std::array<std::string_view, 22> kTypeNames = {
    "page_view",
    "button_click",
    "form_submit",
    "search",
    "filter_change",
    "time_spent",
    "job_view",
    "job_save",
    "job_share",
    "job_apply",
    "application_status_changed",
    "interview_scheduled",
    "interview_feedback",
    "offer_received",
    "offer_accepted",
    "offer_rejected",
    "follow_up",
    "login",
    "logout",
    "error",
    "perf_metric",
    "task_run",
};

std::string_view TypeName(Type t) { return kTypeNames[static_cast<size_t>(t)]; }

enum Stage : int8_t {
  kNoStatus = -1,
  kApplied = 0,
  kScreening,
  kInterview,
  kOffer,
  kRejected,
  kWithdrawn,
  kGhosted,
};

constexpr std::array<std::string_view, 7> kStatusNames = {
    "applied", "screening", "interview", "offer", "rejected", "withdrawn", "ghosted"};

struct Industry {
  std::string_view name;
  std::array<std::string_view, 5> roles;
  std::array<std::string_view, 6> companies;
  int base_salary;         // Mid-level yearly salary in USD.
  double response_factor;  // Multiplies the employer response probability.
};

constexpr std::array<Industry, 8> kIndustries = {{
    {"software",
     {"Software Engineer", "Backend Engineer", "Frontend Engineer", "DevOps Engineer",
      "Mobile Developer"},
     {"Nimbus Labs", "Bytewise", "Stackforge", "Cloudharbor", "Pixelpine Software",
      "Orbital Systems"},
     125000,
     0.9},
    {"data",
     {"Data Scientist", "Data Engineer", "Data Analyst", "Machine Learning Engineer",
      "Analytics Engineer"},
     {"Quantiva", "Datanest", "Insightly Analytics", "Vectorpoint", "Modelworks", "Tabular AI"},
     118000,
     0.95},
    {"design",
     {"Product Designer", "UX Researcher", "UI Designer", "Interaction Designer",
      "Graphic Designer"},
     {"Studio Meridian", "Formfold", "Canvasly", "Kernwork Design", "Hue & Line", "Palette Co"},
     98000,
     0.8},
    {"marketing",
     {"Marketing Manager", "Content Strategist", "SEO Specialist", "Growth Marketer",
      "Brand Manager"},
     {"Brightcast", "Loudleaf", "Funnelcraft", "Amplio Media", "Northstar Brands", "Signalhive"},
     88000,
     1.0},
    {"finance",
     {"Financial Analyst", "Accountant", "Risk Analyst", "Investment Associate",
      "Financial Controller"},
     {"Ledgerline Capital", "Granite Trust", "Meridian Bank", "Coinfield", "Summit Advisors",
      "Harbor Finance"},
     105000,
     0.85},
    {"healthcare",
     {"Registered Nurse", "Clinical Data Manager", "Health Informatics Specialist",
      "Physician Assistant", "Medical Coder"},
     {"CareBridge Health", "Vitalis Clinics", "Helix Medical", "Sunrise Health Network", "Medora",
      "Pulsepoint Hospital"},
     92000,
     1.25},
    {"education",
     {"Teacher", "Instructional Designer", "Curriculum Developer", "Academic Advisor",
      "Education Program Manager"},
     {"Brightpath Learning", "Scholarly", "Lumen Academy", "Edvance", "Open Slate", "Kite Schools"},
     66000,
     1.1},
    {"sales",
     {"Account Executive", "Sales Development Representative", "Customer Success Manager",
      "Sales Engineer", "Partnerships Manager"},
     {"Closewell", "Pipelinr", "Dealcraft", "Revenue Rocket", "Northbound Sales", "Quotabase"},
     82000,
     1.2},
}};
// Share of users per industry (same order as kIndustries).
constexpr std::array<double, 8> kIndustryWeights = {0.22, 0.16, 0.09, 0.11, 0.12, 0.10, 0.08, 0.12};

struct Seniority {
  std::string_view name;
  std::string_view title_prefix;
  double weight;
  double salary_factor;
  double response_rate;  // Base probability that an employer answers at all.
};

constexpr std::array<Seniority, 5> kSeniorities = {{
    {"entry", "Associate ", 0.12, 0.65, 0.22},
    {"junior", "Junior ", 0.23, 0.80, 0.28},
    {"mid", "", 0.33, 1.00, 0.34},
    {"senior", "Senior ", 0.22, 1.30, 0.40},
    {"lead", "Lead ", 0.10, 1.60, 0.36},
}};

struct City {
  std::string_view name;
  std::string_view timezone;
  int utc_offset_minutes;  // Standard time; the model ignores daylight saving.
  std::string_view locale;
  double salary_factor;
  double weight;
};

constexpr std::array<City, 14> kCities = {{
    {"New York", "America/New_York", -300, "en-US", 1.20, 0.14},
    {"San Francisco", "America/Los_Angeles", -480, "en-US", 1.30, 0.10},
    {"Seattle", "America/Los_Angeles", -480, "en-US", 1.20, 0.06},
    {"Austin", "America/Chicago", -360, "en-US", 1.00, 0.06},
    {"Chicago", "America/Chicago", -360, "en-US", 1.05, 0.06},
    {"Boston", "America/New_York", -300, "en-US", 1.15, 0.05},
    {"Toronto", "America/Toronto", -300, "en-CA", 0.90, 0.06},
    {"London", "Europe/London", 0, "en-GB", 1.00, 0.11},
    {"Berlin", "Europe/Berlin", 60, "de-DE", 0.85, 0.08},
    {"Amsterdam", "Europe/Amsterdam", 60, "nl-NL", 0.90, 0.05},
    {"Paris", "Europe/Paris", 60, "fr-FR", 0.85, 0.05},
    {"Bangalore", "Asia/Kolkata", 330, "en-IN", 0.35, 0.08},
    {"Singapore", "Asia/Singapore", 480, "en-SG", 0.95, 0.05},
    {"Sydney", "Australia/Sydney", 600, "en-AU", 1.00, 0.05},
}};
constexpr int kRemote = static_cast<int>(kCities.size());  // Location index of remote jobs.

constexpr bool MaxOffsetFitsLag() {
  for (const City& c : kCities) {
    if (c.utc_offset_minutes * kMinute + 2 * kHour > kWatermarkLag) return false;
  }
  return true;
}
static_assert(MaxOffsetFitsLag(), "kWatermarkLag must exceed every city's UTC offset");

constexpr std::array<std::string_view, 4> kDesktopAgents = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
};
constexpr std::array<std::string_view, 2> kMobileAgents = {
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
};

constexpr std::array<std::string_view, 3> kLoginMethods = {"password", "google", "linkedin"};
constexpr std::array<std::string_view, 5> kExternalReferrers = {
    "", "https://www.google.com/", "https://www.linkedin.com/", "https://mail.example.com/",
    "https://news.example.org/careers"};
constexpr std::array<std::string_view, 3> kShareChannels = {"email", "linkedin", "copy_link"};
constexpr std::array<std::string_view, 2> kFollowUpChannels = {"email", "linkedin"};
constexpr std::array<std::string_view, 4> kInterviewTypes = {"phone", "video", "technical",
                                                             "onsite"};
constexpr std::array<std::string_view, 4> kOfferRejectReasons = {"salary", "location", "culture",
                                                                 "role_fit"};
constexpr std::array<std::string_view, 6> kFilters = {"location",  "salary_min",    "remote",
                                                      "seniority", "posted_within", "job_type"};

struct ErrorKind {
  std::string_view code;
  std::string_view message;
  std::string_view path;
};
constexpr std::array<ErrorKind, 6> kErrors = {{
    {"upstream_timeout", "upstream timeout calling job-search service", "/api/jobs/search"},
    {"db_connection_reset", "database connection reset by peer", "/api/applications"},
    {"render_failed", "failed to render weekly report", "/reports/weekly"},
    {"rate_limited", "rate limit exceeded on job feed import", "/internal/import/jobs"},
    {"widget_exception", "TypeError in recommendations widget", "/recommendations"},
    {"payment_gateway", "payment gateway returned 502", "/api/billing/checkout"},
}};

// Relative traffic per UTC hour, for the diurnal shape of the system metrics.
constexpr std::array<double, 24> kHourlyLoad = {0.35, 0.30, 0.25, 0.25, 0.30, 0.40, 0.50, 0.60,
                                                0.70, 0.80, 0.90, 1.00, 1.00, 1.00, 0.95, 0.95,
                                                0.90, 0.85, 0.80, 0.75, 0.70, 0.60, 0.50, 0.40};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Day of the week of a day number since the epoch: 0 = Sunday (1970-01-01 was a Thursday).
int Weekday(int64_t day) { return static_cast<int>(((day % 7) + 7 + 4) % 7); }
bool IsWeekend(int64_t day) {
  int w = Weekday(day);
  return w == 0 || w == 6;
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Natural logarithm from basic IEEE arithmetic only, so that results do not depend on the
// platform's libm: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)).
double PortableLog(double x) {
  constexpr double kLn2 = 0.69314718055994530942;
  constexpr double kSqrtHalf = 0.70710678118654752440;
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double term = s;
  double sum = s;
  for (int k = 3; k <= 31; k += 2) {
    term *= s2;
    sum += term / k;
  }
  return 2.0 * sum + e * kLn2;
}

// e^x from basic IEEE arithmetic: x = k ln2 + r with |r| <= ln2 / 2, Taylor series for e^r.
double PortableExp(double x) {
  constexpr double kLn2 = 0.69314718055994530942;
  x = std::clamp(x, -700.0, 700.0);
  double k = std::floor(x / kLn2 + 0.5);
  double r = x - k * kLn2;
  double term = 1.0;
  double sum = 1.0;
  for (int i = 1; i <= 22; ++i) {
    term *= r / i;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

// xoshiro256** seeded through SplitMix64, with distributions built from raw 64-bit draws so
// that a seed yields the same numbers with every compiler and standard library.
class Rng {
 public:
  Rng() : Rng(0) {}
  explicit Rng(uint64_t seed) {
    for (uint64_t& w : s_) w = SplitMix64(&seed);
  }

  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Chance(double p) { return Uniform() < p; }
  /// Uniform integer in [0, n); n > 0.
  size_t Index(size_t n) {
    size_t i = static_cast<size_t>(Uniform() * static_cast<double>(n));
    return std::min(i, n - 1);
  }
  /// Uniform integer in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Index(static_cast<size_t>(hi - lo + 1)));
  }
  /// Marsaglia's polar method (needs only log and the correctly rounded sqrt).
  double Normal(double mean, double sd) {
    double u = 0;
    double s = 0;
    do {
      u = 2.0 * Uniform() - 1.0;
      double v = 2.0 * Uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return mean + sd * u * std::sqrt(-2.0 * PortableLog(s) / s);
  }
  double LogNormal(double median, double sigma) { return median * PortableExp(Normal(0.0, sigma)); }
  /// Knuth's method; fine for the small means used here.
  int Poisson(double mean) {
    if (mean <= 0) return 0;
    mean = std::min(mean, 50.0);
    double limit = PortableExp(-mean);
    int k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Index(N)];
  }
  template <size_t N>
  size_t Weighted(const std::array<double, N>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    for (size_t i = 0; i < N; ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return N - 1;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ (stream * 0xd1342543de82ef95ULL);
  SplitMix64(&state);
  return SplitMix64(&state);
}

void AppendEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
}

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  AppendEscaped(out, s);
  out->push_back('"');
}

void AppendPadded(std::string* out, int64_t value, int width) {
  char buf[24];
  int n = 0;
  uint64_t v = static_cast<uint64_t>(value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

// Builds a flat JSON object; values are appended in call order.
class ObjectWriter {
 public:
  ObjectWriter() { out_.push_back('{'); }
  ObjectWriter& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendQuoted(&out_, value);
    return *this;
  }
  ObjectWriter& Int(std::string_view key, int64_t value) {
    Key(key);
    out_.append(std::to_string(value));
    return *this;
  }
  /// A decimal with one fractional digit, formatted without the C locale.
  ObjectWriter& Decimal1(std::string_view key, double value) {
    Key(key);
    int64_t tenths = std::llround(value * 10.0);
    if (tenths < 0) {
      out_.push_back('-');
      tenths = -tenths;
    }
    out_.append(std::to_string(tenths / 10));
    out_.push_back('.');
    out_.push_back(static_cast<char>('0' + tenths % 10));
    return *this;
  }
  ObjectWriter& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_.append(json);
    return *this;
  }
  std::string Done() {
    out_.push_back('}');
    return std::move(out_);
  }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_.push_back(',');
    AppendQuoted(&out_, key);
    out_.push_back(':');
  }
  std::string out_;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string PaddedId(std::string_view prefix, int64_t n, int width) {
  std::string out(prefix);
  AppendPadded(&out, n, width);
  return out;
}

int Digits(int64_t n) {
  int d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

}  // namespace

std::string FormatIsoMillis(int64_t ms) {
  int64_t days = FloorDiv(ms, kDay);
  int64_t rem = ms - days * kDay;
  // Civil-from-days (H. Hinnant's algorithm, proleptic Gregorian calendar).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  std::string out;
  out.reserve(24);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, d, 2);
  out.push_back('T');
  AppendPadded(&out, rem / kHour, 2);
  out.push_back(':');
  AppendPadded(&out, rem % kHour / kMinute, 2);
  out.push_back(':');
  AppendPadded(&out, rem % kMinute / kSecond, 2);
  out.push_back('.');
  AppendPadded(&out, rem % kSecond, 3);
  out.push_back('Z');
  return out;
}

const std::vector<std::string>& DemoApplicationStatuses() {
  static const std::vector<std::string> kStatuses(kStatusNames.begin(), kStatusNames.end());
  return kStatuses;
}

struct DemoGenerator::State {
  struct Event {
    int64_t ts = 0;
    uint64_t seq = 0;
    Type type = Type::kPageView;
    int8_t status = kNoStatus;  // New stage, for application_status_changed.
    int32_t user = -1;          // -1: the system user.
    int32_t app = -1;
    int32_t context = 0;   // Index into `contexts`.
    uint64_t session = 0;  // Session number; 0 for events outside a browser session.
    std::string properties;
    std::string page;  // The context's "page" object; empty for backend and system events.
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.ts != b.ts ? a.ts > b.ts : a.seq > b.seq;
    }
  };

  struct UserState {
    Rng rng;
    int industry = 0;
    int seniority = 0;
    int city = 0;
    int login_method = 0;
    int desktop_agent = 0;
    int mobile_agent = 0;
    double mobile_share = 0;
    double p_weekday = 0;
    double p_weekend = 0;
    double adherence = 0;   // Share of the weekly goal actually applied for.
    double engagement = 0;  // Mean number of extra activities per session.
    int64_t offset_ms = 0;
    int64_t churn_ms = kNever;
    int64_t hired_ms = kNever;
    int64_t last_activity_ms = std::numeric_limits<int64_t>::min();
    std::set<int> applied_jobs;
  };

  struct App {
    int32_t user = 0;
    int32_t job = 0;
    int8_t emitted_status = kNoStatus;
    bool responded = false;
    bool interviewed = false;
  };

  // The browser session being simulated.
  struct Session {
    int user = 0;
    uint64_t number = 0;
    int64_t t = 0;
    int32_t context = 0;
    std::string path;
    std::string url;
    int apply_budget = 0;
  };

  const std::vector<DemoUser>* users_pub = nullptr;
  const std::vector<DemoJob>* jobs_pub = nullptr;
  std::string seed_text;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t next_day = 0;
  int64_t last_day = 0;
  bool simulation_done = false;

  std::vector<UserState> users;
  std::vector<int> job_industry;
  std::vector<int> job_location;
  // jobs_by_place[industry * (kRemote + 1) + location] and jobs_by_industry[industry].
  std::vector<std::vector<int>> jobs_by_place;
  std::vector<std::vector<int>> jobs_by_industry;
  std::vector<App> apps;
  std::vector<std::string> app_ids;

  Rng system_rng;
  int64_t incident_day = 0;
  // Context objects without their closing brace: backend, system, then one per (agent, city).
  std::vector<std::string> contexts;
  static constexpr int32_t kBackendContext = 0;
  static constexpr int32_t kSystemContext = 1;

  std::vector<Event> pending;  // A min-heap by (ts, seq).
  std::deque<Event> ready;
  uint64_t seq = 0;
  uint64_t session_counter = 0;
  uint64_t event_counter = 0;

  void Push(Event e) {
    if (e.ts < start_ms || e.ts > end_ms) return;
    e.seq = seq++;
    pending.push_back(std::move(e));
    std::push_heap(pending.begin(), pending.end(), Later());
  }

  void PushBackend(Type type, int64_t ts, int user, int app, int8_t status,
                   std::string properties) {
    Event e;
    e.ts = ts;
    e.type = type;
    e.user = user;
    e.app = app;
    e.status = status;
    e.properties = std::move(properties);
    e.context = kBackendContext;
    Push(std::move(e));
  }

  void PushSystem(Type type, int64_t ts, std::string properties) {
    Event e;
    e.ts = ts;
    e.type = type;
    e.properties = std::move(properties);
    e.context = kSystemContext;
    Push(std::move(e));
  }

  // A time on the local day of `after` (or a later day) between local hours lo and hi,
  // strictly after `after`; weekdays only if `business`.
  int64_t LocalTime(Rng& rng, int64_t after, int64_t offset_ms, double lo_h, double hi_h,
                    bool business) const {
    int64_t day = FloorDiv(after + offset_ms, kDay);
    for (;;) {
      int64_t tod = static_cast<int64_t>(rng.Uniform(lo_h, hi_h) * kHour);
      int64_t ts = day * kDay - offset_ms + tod;
      if ((business && IsWeekend(day)) || ts <= after) {
        ++day;
        continue;
      }
      return ts;
    }
  }

  void Simulate(int64_t day) {
    for (size_t u = 0; u < users.size(); ++u) SimulateUserDay(static_cast<int>(u), day);
    SimulateSystemDay(day);
  }

  // Releases every pending event older than `watermark` into `ready`, in order.
  void Release(int64_t watermark) {
    while (!pending.empty() && pending.front().ts < watermark) {
      std::pop_heap(pending.begin(), pending.end(), Later());
      ready.push_back(std::move(pending.back()));
      pending.pop_back();
    }
  }

  bool Advance() {
    if (simulation_done) return false;
    Simulate(next_day);
    ++next_day;
    if (next_day > last_day) {
      simulation_done = true;
      Release(kNever);
    } else {
      Release(next_day * kDay - kWatermarkLag);
    }
    return true;
  }

  double SessionTimeOfDayHours(Rng& rng) const {
    double x = rng.Uniform();
    double h = x < 0.35  ? rng.Normal(9.5, 1.0)
               : x < 0.6 ? rng.Normal(13.0, 1.0)
                         : rng.Normal(20.5, 1.3);
    return std::clamp(h, 6.5, 23.5);
  }

  void SimulateUserDay(int u, int64_t day) {
    UserState& us = users[static_cast<size_t>(u)];
    const DemoUser& pub = (*users_pub)[static_cast<size_t>(u)];
    int64_t local_start = day * kDay - us.offset_ms;
    int64_t local_end = local_start + kDay;
    if (pub.signup_ms >= local_end) return;
    bool signup_day = pub.signup_ms >= local_start && pub.signup_ms >= start_ms;
    double p = IsWeekend(day) ? us.p_weekend : us.p_weekday;
    if (local_start >= us.churn_ms) p *= 0.08;
    bool hired = local_start >= us.hired_ms;
    if (hired) p *= 0.15;
    bool active = us.rng.Chance(p);
    int extra_sessions = (us.rng.Chance(0.25) ? 1 : 0) + (us.rng.Chance(0.08) ? 1 : 0);
    if (!signup_day && !active) return;

    double expected_days = 5 * us.p_weekday + 2 * us.p_weekend;
    double per_day =
        hired ? 0.0 : pub.weekly_application_goal * us.adherence / std::max(expected_days, 0.5);
    int sessions = 1 + extra_sessions;
    std::vector<int64_t> starts;
    for (int i = 0; i < sessions; ++i) {
      starts.push_back(local_start + static_cast<int64_t>(SessionTimeOfDayHours(us.rng) * kHour));
    }
    std::sort(starts.begin(), starts.end());
    if (signup_day) {
      // The sign-up session comes first; nothing happens before it.
      std::erase_if(starts, [&](int64_t t) { return t <= pub.signup_ms; });
      starts.insert(starts.begin(), pub.signup_ms);
    }
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t t0 = std::max(starts[i], us.last_activity_ms + 10 * kMinute);
      int budget = us.rng.Poisson(per_day / static_cast<double>(starts.size()));
      if (t0 < start_ms || t0 > end_ms) continue;
      RunSession(u, t0, budget, signup_day && i == 0);
    }
  }

  void Emit(Session& s, Type type, std::string properties) {
    Event e;
    e.ts = s.t;
    e.type = type;
    e.user = s.user;
    e.session = s.number;
    e.properties = std::move(properties);
    e.context = s.context;
    if (!s.path.empty()) {
      e.page = "{\"path\":";
      AppendQuoted(&e.page, s.path);
      e.page.push_back('}');
    }
    Push(std::move(e));
  }

  static int32_t BrowserContext(size_t agent, size_t city) {
    return static_cast<int32_t>(2 + agent * kCities.size() + city);
  }

  void Think(Session& s, double median_seconds) {
    Rng& rng = users[static_cast<size_t>(s.user)].rng;
    double sec = std::clamp(rng.LogNormal(median_seconds, 0.6), 0.5, 20.0 * median_seconds);
    s.t += std::max<int64_t>(1, static_cast<int64_t>(sec * kSecond));
  }

  void Navigate(Session& s, std::string path, std::string_view title,
                std::string_view external_referrer = "") {
    std::string referrer = s.url.empty() ? std::string(external_referrer) : s.url;
    s.path = std::move(path);
    s.url = std::string(kBaseUrl) + s.path;
    Event e;
    e.ts = s.t;
    e.type = Type::kPageView;
    e.user = s.user;
    e.session = s.number;
    e.properties = "{}";
    e.context = s.context;
    e.page = "{\"url\":";
    AppendQuoted(&e.page, s.url);
    e.page.append(",\"path\":");
    AppendQuoted(&e.page, s.path);
    e.page.append(",\"referrer\":");
    AppendQuoted(&e.page, referrer);
    e.page.append(",\"title\":");
    AppendQuoted(&e.page, title);
    e.page.push_back('}');
    Push(std::move(e));
    Think(s, 3);
  }

  void Click(Session& s, std::string_view button, std::string_view job_id = "") {
    ObjectWriter w;
    w.Str("button_id", button);
    if (!job_id.empty()) w.Str("job_id", job_id);
    Emit(s, Type::kButtonClick, w.Done());
    Think(s, 2);
  }

  void Submit(Session& s, std::string_view form_id, std::string extra_key = "",
              int64_t extra_value = 0) {
    ObjectWriter w;
    w.Str("form_id", form_id);
    if (!extra_key.empty()) w.Int(extra_key, extra_value);
    Emit(s, Type::kFormSubmit, w.Done());
    Think(s, 2);
  }

  void Read(Session& s, double median_seconds) {
    Rng& rng = users[static_cast<size_t>(s.user)].rng;
    double sec = std::clamp(rng.LogNormal(median_seconds, 0.8), 2.0, 1800.0);
    s.t += static_cast<int64_t>(sec * kSecond);
    Emit(s, Type::kTimeSpent,
         ObjectWriter().Int("seconds", static_cast<int64_t>(sec)).Str("path", s.path).Done());
    Think(s, 2);
  }

  int PickJob(int u) {
    UserState& us = users[static_cast<size_t>(u)];
    Rng& rng = us.rng;
    int industry = rng.Chance(0.85) ? us.industry : static_cast<int>(rng.Index(kIndustries.size()));
    double x = rng.Uniform();
    int place = x < 0.55 ? us.city : x < 0.8 ? kRemote : -1;
    const std::vector<int>* pool = nullptr;
    if (place >= 0) {
      pool = &jobs_by_place[static_cast<size_t>(industry * (kRemote + 1) + place)];
    }
    if (pool == nullptr || pool->empty()) pool = &jobs_by_industry[static_cast<size_t>(industry)];
    if (pool->empty()) return static_cast<int>(rng.Index(jobs_pub->size()));
    return (*pool)[rng.Index(pool->size())];
  }

  void ViewJob(Session& s, std::string_view source, bool force_apply) {
    UserState& us = users[static_cast<size_t>(s.user)];
    Rng& rng = us.rng;
    bool want_apply = s.apply_budget > 0 && (force_apply || rng.Chance(0.5));
    int job = PickJob(s.user);
    for (int tries = 0; want_apply && tries < 6 && us.applied_jobs.count(job) != 0; ++tries) {
      job = PickJob(s.user);
    }
    const DemoJob& dj = (*jobs_pub)[static_cast<size_t>(job)];
    Navigate(s, "/jobs/" + dj.job_id, dj.title + " at " + dj.company);
    Emit(s, Type::kJobView, ObjectWriter().Str("job_id", dj.job_id).Str("source", source).Done());
    Read(s, 45);
    if (rng.Chance(0.15)) {
      Emit(s, Type::kJobSave, ObjectWriter().Str("job_id", dj.job_id).Done());
      Think(s, 2);
    }
    if (rng.Chance(0.03)) {
      Emit(s, Type::kJobShare,
           ObjectWriter().Str("job_id", dj.job_id).Str("channel", rng.Pick(kShareChannels)).Done());
      Think(s, 5);
    }
    if (want_apply && us.applied_jobs.count(job) == 0) {
      Apply(s, job);
    }
  }

  void Apply(Session& s, int job) {
    UserState& us = users[static_cast<size_t>(s.user)];
    const DemoJob& dj = (*jobs_pub)[static_cast<size_t>(job)];
    us.applied_jobs.insert(job);
    --s.apply_budget;
    int app = static_cast<int>(apps.size());
    apps.push_back(App{s.user, job});
    std::string app_id = "app-" + seed_text + "-" + std::to_string(app + 1);
    app_ids.push_back(app_id);
    Click(s, "apply", dj.job_id);
    Think(s, 60);  // Filling in the application form.
    Submit(s, "application");
    Emit(s, Type::kJobApply,
         ObjectWriter().Str("job_id", dj.job_id).Str("application_id", app_id).Done());
    ScheduleApplication(s.user, job, app, s.t);
    Think(s, 4);
  }

  std::string AppProps(int app, int job) const {
    ObjectWriter w;
    w.Str("application_id", app_ids[static_cast<size_t>(app)]);
    w.Str("job_id", (*jobs_pub)[static_cast<size_t>(job)].job_id);
    return w.Done();
  }

  // Adds `more` (an object's members, without braces) to the object `base`.
  static std::string Extend(std::string base, std::string_view more) {
    base.pop_back();
    base.push_back(',');
    base.append(more);
    base.push_back('}');
    return base;
  }

  std::string StatusProps(int app, int job, int8_t status, int8_t previous) const {
    std::string more = "\"status\":\"";
    more.append(kStatusNames[static_cast<size_t>(status)]);
    more.append("\",\"previous_status\":\"");
    if (previous != kNoStatus) more.append(kStatusNames[static_cast<size_t>(previous)]);
    more.push_back('"');
    return Extend(AppProps(app, job), more);
  }

  // Decides the whole future of an application at the moment it is submitted and schedules its
  // events; steps after end_ms are dropped, so applications in progress at the end stay open.
  void ScheduleApplication(int u, int job, int app, int64_t t_apply) {
    UserState& us = users[static_cast<size_t>(u)];
    Rng& rng = us.rng;
    const DemoJob& dj = (*jobs_pub)[static_cast<size_t>(job)];
    int64_t off = us.offset_ms;
    int8_t status = kApplied;
    if (t_apply > end_ms) return;
    // Capped at end_ms so that every emitted job_apply has its "applied" status change.
    int64_t t = std::min(t_apply + rng.Range(300, 1500), end_ms);
    PushBackend(Type::kApplicationStatusChanged, t, u, app, kApplied,
                StatusProps(app, job, kApplied, kNoStatus));

    auto change = [&](int64_t ts, int8_t next) {
      PushBackend(Type::kApplicationStatusChanged, ts, u, app, next,
                  StatusProps(app, job, next, status));
      status = next;
      t = ts;
    };
    auto ghost_time = [&](int64_t from) {
      // The platform marks silent applications as ghosted in its nightly job at 02:00 UTC.
      int64_t due = from + static_cast<int64_t>(rng.Uniform(28, 35) * kDay);
      return FloorDiv(due, kDay) * kDay + kDay + 2 * kHour + rng.Range(0, 600) * kSecond;
    };

    double p_response = kSeniorities[static_cast<size_t>(us.seniority)].response_rate *
                        kIndustries[static_cast<size_t>(us.industry)].response_factor;
    if (job_location[static_cast<size_t>(job)] == kRemote) p_response *= 0.8;
    if (job_industry[static_cast<size_t>(job)] != us.industry) p_response *= 0.6;
    bool responds = rng.Chance(p_response);
    double delay_days = std::clamp(rng.LogNormal(5.0, 0.7), 0.5, 25.0);
    int64_t t_response =
        responds ? LocalTime(rng, t + static_cast<int64_t>(delay_days * kDay), off, 9, 18, true)
                 : ghost_time(t);
    int64_t t_withdraw = kNever;
    if (rng.Chance(0.05)) {
      t_withdraw =
          LocalTime(rng, t + static_cast<int64_t>(rng.Uniform(2, 20) * kDay), off, 8, 22, false);
    }
    if (rng.Chance(0.3)) {
      int64_t t_follow =
          LocalTime(rng, t + static_cast<int64_t>(rng.Uniform(6, 12) * kDay), off, 8, 22, false);
      if (t_follow < std::min(t_response, t_withdraw)) {
        PushBackend(Type::kFollowUp, t_follow, u, app, kNoStatus,
                    Extend(AppProps(app, job),
                           "\"channel\":\"" + std::string(rng.Pick(kFollowUpChannels)) + "\""));
      }
    }
    if (t_withdraw < t_response) {
      change(t_withdraw, kWithdrawn);
      return;
    }
    if (!responds) {
      change(t_response, kGhosted);
      return;
    }
    if (rng.Chance(0.5)) {
      change(t_response, kRejected);
      return;
    }
    change(t_response, kScreening);
    int64_t next = LocalTime(
        rng, t + static_cast<int64_t>(std::clamp(rng.LogNormal(4.0, 0.5), 1.0, 20.0) * kDay), off,
        9, 18, true);
    double x = rng.Uniform();
    if (x >= 0.55) {
      if (x < 0.9) {
        change(next, kRejected);
      } else {
        change(ghost_time(t), kGhosted);
      }
      return;
    }
    change(next, kInterview);
    for (int round = 1;; ++round) {
      int64_t t_interview =
          LocalTime(rng, t + static_cast<int64_t>(rng.Uniform(2, 8) * kDay), off, 9, 17, true);
      PushBackend(Type::kInterviewScheduled, t + rng.Range(1, 30) * kSecond, u, app, kNoStatus,
                  Extend(AppProps(app, job),
                         "\"round\":" + std::to_string(round) + ",\"interview_type\":\"" +
                             std::string(rng.Pick(kInterviewTypes)) + "\",\"scheduled_for\":\"" +
                             FormatIsoMillis(t_interview) + "\""));
      int64_t t_feedback = t_interview + static_cast<int64_t>(rng.Uniform(1, 20) * kHour);
      PushBackend(Type::kInterviewFeedback, t_feedback, u, app, kNoStatus,
                  Extend(AppProps(app, job), "\"round\":" + std::to_string(round) +
                                                 ",\"rating\":" + std::to_string(rng.Range(1, 5))));
      t = t_feedback;
      int64_t t_decision = LocalTime(
          rng, t + static_cast<int64_t>(std::clamp(rng.LogNormal(4.0, 0.5), 1.0, 20.0) * kDay), off,
          9, 18, true);
      double p_offer = 0.12 + 0.08 * round;
      double p_next = round < 3 ? 0.45 : 0.0;
      double y = rng.Uniform();
      if (y < p_offer) {
        change(t_decision, kOffer);
        break;
      }
      if (y < p_offer + p_next) {
        t = t_decision;
        continue;
      }
      if (rng.Chance(0.85)) {
        change(t_decision, kRejected);
      } else {
        change(ghost_time(t), kGhosted);
      }
      return;
    }
    int salary = static_cast<int>(
        (dj.salary_min + rng.Uniform() * (dj.salary_max - dj.salary_min)) / 1000.0 + 0.5);
    salary *= 1000;
    std::string salary_props = Extend(
        AppProps(app, job), "\"salary\":" + std::to_string(salary) + ",\"currency\":\"USD\"");
    t += rng.Range(5, 120) * kSecond;
    PushBackend(Type::kOfferReceived, t, u, app, kNoStatus, salary_props);
    int64_t t_decide =
        LocalTime(rng, t + static_cast<int64_t>(rng.Uniform(1, 7) * kDay), off, 8, 22, false);
    if (t_decide > end_ms) return;
    if (us.hired_ms == kNever && rng.Chance(0.7)) {
      us.hired_ms = t_decide;
      PushBackend(Type::kOfferAccepted, t_decide, u, app, kNoStatus, salary_props);
    } else {
      std::string reason(us.hired_ms <= t_decide ? "accepted_other"
                                                 : rng.Pick(kOfferRejectReasons));
      PushBackend(Type::kOfferRejected, t_decide, u, app, kNoStatus,
                  Extend(AppProps(app, job), "\"reason\":\"" + reason + "\""));
    }
  }

  void SearchFlow(Session& s, bool force_apply) {
    UserState& us = users[static_cast<size_t>(s.user)];
    Rng& rng = us.rng;
    if (s.path != "/jobs") Navigate(s, "/jobs", "Jobs");
    const Industry& ind = kIndustries[static_cast<size_t>(us.industry)];
    std::string query = Lower(ind.roles[rng.Index(ind.roles.size())]);
    if (rng.Chance(0.3))
      query = Lower(kSeniorities[static_cast<size_t>(us.seniority)].name) + " " + query;
    if (rng.Chance(0.35)) {
      query += " ";
      query += rng.Chance(0.3) ? std::string("remote")
                               : Lower(kCities[static_cast<size_t>(us.city)].name);
    }
    int64_t results = rng.Chance(0.05) ? 0 : rng.Range(3, 240);
    Emit(s, Type::kSearch, ObjectWriter().Str("query", query).Int("results_count", results).Done());
    Think(s, 6);
    if (results == 0) return;
    int filters = rng.Chance(0.5) ? static_cast<int>(rng.Range(1, 2)) : 0;
    for (int i = 0; i < filters; ++i) {
      std::string_view filter = rng.Pick(kFilters);
      std::string value;
      if (filter == "location") {
        value =
            rng.Chance(0.3) ? "Remote" : std::string(kCities[static_cast<size_t>(us.city)].name);
      } else if (filter == "salary_min") {
        value = std::to_string(rng.Range(4, 16) * 10000);
      } else if (filter == "remote") {
        value = "true";
      } else if (filter == "seniority") {
        value = std::string(kSeniorities[static_cast<size_t>(us.seniority)].name);
      } else if (filter == "posted_within") {
        value = rng.Chance(0.5) ? "7d" : "30d";
      } else {
        value = rng.Chance(0.8) ? "full_time" : "contract";
      }
      Emit(s, Type::kFilterChange, ObjectWriter().Str("filter", filter).Str("value", value).Done());
      Think(s, 4);
    }
    int views = 1 + rng.Poisson(1.0);
    for (int i = 0; i < views; ++i) ViewJob(s, "search", force_apply);
  }

  void RunSession(int u, int64_t t0, int apply_budget, bool signup) {
    UserState& us = users[static_cast<size_t>(u)];
    Rng& rng = us.rng;
    Session s;
    s.user = u;
    s.number = ++session_counter;
    s.t = t0;
    s.apply_budget = apply_budget;
    bool mobile = rng.Chance(us.mobile_share);
    size_t agent = mobile ? kDesktopAgents.size() + static_cast<size_t>(us.mobile_agent)
                          : static_cast<size_t>(us.desktop_agent);
    s.context = BrowserContext(agent, static_cast<size_t>(us.city));

    std::string_view referrer = rng.Pick(kExternalReferrers);
    if (signup) {
      Navigate(s, "/signup", "Sign up", referrer);
      Think(s, 40);
      Submit(s, "signup");
      Emit(s, Type::kLogin, ObjectWriter().Str("method", "password").Done());
      Think(s, 2);
      Navigate(s, "/onboarding", "Welcome");
      Think(s, 30);
      Submit(s, "onboarding", "weekly_application_goal",
             (*users_pub)[static_cast<size_t>(u)].weekly_application_goal);
      Click(s, "set_goal");
      Navigate(s, "/dashboard", "Dashboard");
    } else {
      Emit(
          s, Type::kLogin,
          ObjectWriter().Str("method", kLoginMethods[static_cast<size_t>(us.login_method)]).Done());
      Think(s, 2);
      Navigate(s, "/dashboard", "Dashboard", referrer);
    }
    if (rng.Chance(0.5)) Read(s, 15);

    int activities = 1 + rng.Poisson(us.engagement);
    for (int i = 0; i < activities; ++i) {
      double x = rng.Uniform();
      if (x < 0.45) {
        SearchFlow(s, false);
      } else if (x < 0.62) {
        Navigate(s, "/recommendations", "Recommended jobs");
        int views = static_cast<int>(rng.Range(1, 3));
        for (int j = 0; j < views; ++j) ViewJob(s, "recommendations", false);
      } else if (x < 0.80) {
        Navigate(s, "/applications", "My applications");
        Read(s, 40);
        if (rng.Chance(0.3)) Click(s, "filter_status");
      } else if (x < 0.92) {
        Navigate(s, "/insights", "Insights");
        Read(s, 60);
        if (rng.Chance(0.15)) Click(s, "download_report");
      } else {
        Navigate(s, "/profile", "Profile");
        Read(s, 30);
        if (rng.Chance(0.3)) Submit(s, "profile");
      }
    }
    for (int extra = 0; s.apply_budget > 0 && extra < 3; ++extra) SearchFlow(s, true);
    if (rng.Chance(0.6)) {
      Emit(s, Type::kLogout, ObjectWriter().Str("reason", "user").Done());
    }
    us.last_activity_ms = s.t;
  }

  void SimulateSystemDay(int64_t day) {
    Rng& rng = system_rng;
    int64_t day_start = day * kDay;
    bool incident = day == incident_day;
    // One simulated incident: three hours of errors and slow responses from 14:00 UTC.
    int64_t incident_from = day_start + 14 * kHour;
    int64_t incident_to = incident_from + 3 * kHour;
    for (int h = 0; h < 24; ++h) {
      int64_t ts = day_start + h * kHour + rng.Range(0, 59) * kSecond;
      bool slow = incident && ts >= incident_from && ts < incident_to;
      double load = kHourlyLoad[static_cast<size_t>(h)];
      double latency = std::max(20.0, 110 + 70 * load + rng.Normal(0, 12)) * (slow ? 3.5 : 1.0);
      double page = std::max(200.0, 800 + 350 * load + rng.Normal(0, 80)) * (slow ? 2.5 : 1.0);
      double rate = std::max(0.0, 25 * load * (1 + rng.Normal(0, 0.1)));
      PushSystem(Type::kPerfMetric, ts,
                 ObjectWriter()
                     .Str("name", "api_latency_p95_ms")
                     .Decimal1("value", latency)
                     .Str("unit", "ms")
                     .Done());
      PushSystem(Type::kPerfMetric, ts + 1,
                 ObjectWriter()
                     .Str("name", "page_load_ms")
                     .Decimal1("value", page)
                     .Str("unit", "ms")
                     .Done());
      PushSystem(Type::kPerfMetric, ts + 2,
                 ObjectWriter()
                     .Str("name", "ingest_events_per_second")
                     .Decimal1("value", rate)
                     .Str("unit", "1/s")
                     .Done());
    }
    struct Task {
      std::string_view name;
      int64_t at;
      double median_ms;
    };
    std::vector<Task> tasks = {{"daily_rollup", 1 * kHour, 42000},
                               {"job_market_import", 2 * kHour + 30 * kMinute, 95000},
                               {"retention_cleanup", 3 * kHour + 30 * kMinute, 15000}};
    if (Weekday(day) == 1) tasks.push_back({"weekly_report", 7 * kHour, 180000});
    for (const Task& task : tasks) {
      bool failed = rng.Chance(incident ? 0.5 : 0.03);
      int64_t duration = static_cast<int64_t>(rng.LogNormal(task.median_ms, 0.3));
      PushSystem(Type::kTaskRun, day_start + task.at + duration,
                 ObjectWriter()
                     .Str("task", task.name)
                     .Str("status", failed ? "failed" : "success")
                     .Int("duration_ms", duration)
                     .Done());
    }
    int errors = rng.Poisson(4.0);
    std::vector<int64_t> times;
    for (int i = 0; i < errors; ++i) {
      times.push_back(day_start + static_cast<int64_t>(rng.Uniform() * static_cast<double>(kDay)));
    }
    if (incident) {
      int burst = 30 + rng.Poisson(20);
      for (int i = 0; i < burst; ++i) {
        times.push_back(incident_from +
                        static_cast<int64_t>(rng.Uniform() * static_cast<double>(3 * kHour)));
      }
    }
    std::sort(times.begin(), times.end());
    for (int64_t ts : times) {
      bool in_incident = incident && ts >= incident_from && ts < incident_to;
      const ErrorKind& kind = in_incident && rng.Chance(0.8) ? kErrors[0] : rng.Pick(kErrors);
      PushSystem(Type::kError, ts,
                 ObjectWriter()
                     .Str("message", kind.message)
                     .Str("code", kind.code)
                     .Str("path", kind.path)
                     .Str("severity", rng.Chance(0.2) ? "critical" : "error")
                     .Done());
    }
  }

  // Serialises `e` into `body` and counts it in `truth`.
  void Write(const Event& e, DemoTruth* truth, std::string* body) {
    ++event_counter;
    std::string_view type = TypeName(e.type);
    static const std::string kSystemUser(kDemoSystemUserId);
    const std::string& user_id =
        e.user < 0 ? kSystemUser : (*users_pub)[static_cast<size_t>(e.user)].user_id;
    body->append("{\"event_id\":\"demo-");
    body->append(seed_text);
    body->push_back('-');
    body->append(std::to_string(event_counter));
    body->append("\",\"type\":\"");
    body->append(type);
    body->append("\",\"user_id\":");
    AppendQuoted(body, user_id);
    body->append(",\"timestamp\":\"");
    body->append(FormatIsoMillis(e.ts));
    body->push_back('"');
    if (e.session != 0) {
      body->append(",\"session_id\":\"sess-");
      body->append(seed_text);
      body->push_back('-');
      body->append(std::to_string(e.session));
      body->push_back('"');
    }
    body->append(",\"properties\":");
    body->append(e.properties);
    body->append(",\"context\":");
    body->append(contexts[static_cast<size_t>(e.context)]);
    if (!e.page.empty()) {
      body->append(",\"page\":");
      body->append(e.page);
    }
    body->append("}}");

    ++truth->events;
    ++truth->events_by_type[std::string(type)];
    DemoUserTruth* ut = e.user < 0 ? nullptr : &truth->per_user[user_id];
    switch (e.type) {
      case Type::kLogin:
        ++truth->sessions;
        ++ut->sessions;
        break;
      case Type::kJobApply:
        ++truth->applications;
        ++ut->applications;
        break;
      case Type::kOfferReceived:
        ++truth->offers;
        ++ut->offers;
        break;
      case Type::kOfferAccepted:
        ++truth->offers_accepted;
        ++ut->offers_accepted;
        break;
      case Type::kApplicationStatusChanged: {
        App& app = apps[static_cast<size_t>(e.app)];
        const std::string& app_id = app_ids[static_cast<size_t>(e.app)];
        if (app.emitted_status == kApplied && !app.responded && e.status != kGhosted &&
            e.status != kWithdrawn) {
          app.responded = true;
          ++truth->employer_responses;
          ++ut->employer_responses;
        }
        if (e.status == kInterview && !app.interviewed) {
          app.interviewed = true;
          ++truth->interviews;
          ++ut->interviews;
        }
        if (app.emitted_status != kNoStatus) {
          auto it = truth->applications_by_status.find(
              std::string(kStatusNames[static_cast<size_t>(app.emitted_status)]));
          if (--it->second == 0) truth->applications_by_status.erase(it);
        }
        std::string name(kStatusNames[static_cast<size_t>(e.status)]);
        ++truth->applications_by_status[name];
        truth->application_status[app_id] = std::move(name);
        app.emitted_status = e.status;
        break;
      }
      default:
        break;
    }
  }
};

Status DemoGenerator::Validate(const DemoOptions& options) {
  if (options.users < 0 || options.users > 100000) {
    return InvalidArgument("demo users must be in [0, 100000]");
  }
  if (options.days < 1 || options.days > 3650) {
    return InvalidArgument("demo days must be in [1, 3650]");
  }
  if (options.jobs < 1 || options.jobs > 1000000) {
    return InvalidArgument("demo jobs must be in [1, 1000000]");
  }
  if (options.end_ms - static_cast<int64_t>(options.days) * kDay <= 0) {
    return InvalidArgument("demo history must start after 1970-01-01");
  }
  return Status::Ok();
}

DemoGenerator::DemoGenerator(DemoOptions options)
    : options_(options), state_(std::make_unique<State>()) {
  options_.users = std::clamp(options_.users, 0, 100000);
  options_.days = std::clamp(options_.days, 1, 3650);
  options_.jobs = std::clamp(options_.jobs, 1, 1000000);
  options_.end_ms = std::max<int64_t>(options_.end_ms, (options_.days + 1) * kDay);

  State& st = *state_;
  st.users_pub = &users_;
  st.jobs_pub = &jobs_;
  st.seed_text = std::to_string(options_.seed);
  st.end_ms = options_.end_ms;
  st.start_ms = options_.end_ms - options_.days * kDay;
  st.next_day = FloorDiv(st.start_ms, kDay) - 1;
  st.last_day = FloorDiv(st.end_ms, kDay) + 1;
  st.contexts.push_back(
      "{\"library\":{\"name\":\"copilot-backend\",\"version\":\"3.2.0\"},\"source\":\"backend\"");
  st.contexts.push_back(
      "{\"library\":{\"name\":\"copilot-backend\",\"version\":\"3.2.0\"},\"source\":\"system\","
      "\"host\":\"api-1\"");
  for (size_t agent = 0; agent < kDesktopAgents.size() + kMobileAgents.size(); ++agent) {
    for (const City& city : kCities) {
      std::string ctx =
          "{\"library\":{\"name\":\"tracker.js\",\"version\":\"1.4.2\"},\"user_agent\":";
      AppendQuoted(&ctx, agent < kDesktopAgents.size()
                             ? kDesktopAgents[agent]
                             : kMobileAgents[agent - kDesktopAgents.size()]);
      ctx.append(",\"locale\":");
      AppendQuoted(&ctx, city.locale);
      st.contexts.push_back(std::move(ctx));
    }
  }

  // Jobs catalogue.
  Rng catalogue(MixSeed(options_.seed, 1));
  std::array<double, kCities.size()> city_weights{};
  for (size_t i = 0; i < kCities.size(); ++i) city_weights[i] = kCities[i].weight;
  std::array<double, kSeniorities.size()> seniority_weights{};
  for (size_t i = 0; i < kSeniorities.size(); ++i) seniority_weights[i] = kSeniorities[i].weight;
  int job_width = std::max(5, Digits(options_.jobs));
  st.jobs_by_place.resize(kIndustries.size() * (kRemote + 1));
  st.jobs_by_industry.resize(kIndustries.size());
  jobs_.reserve(static_cast<size_t>(options_.jobs));
  for (int j = 0; j < options_.jobs; ++j) {
    size_t ind = catalogue.Weighted(kIndustryWeights);
    size_t sen = catalogue.Weighted(seniority_weights);
    int loc = catalogue.Chance(0.15) ? kRemote : static_cast<int>(catalogue.Weighted(city_weights));
    const Industry& industry = kIndustries[ind];
    const Seniority& seniority = kSeniorities[sen];
    double city_factor = loc == kRemote ? 1.0 : kCities[static_cast<size_t>(loc)].salary_factor;
    double mid = industry.base_salary * seniority.salary_factor * city_factor *
                 catalogue.Uniform(0.85, 1.15);
    DemoJob job;
    job.job_id = PaddedId("job-", j + 1, job_width);
    job.title = std::string(seniority.title_prefix) +
                std::string(industry.roles[catalogue.Index(industry.roles.size())]);
    job.company = std::string(industry.companies[catalogue.Index(industry.companies.size())]);
    job.industry = std::string(industry.name);
    job.location = loc == kRemote ? "Remote" : std::string(kCities[static_cast<size_t>(loc)].name);
    job.seniority = std::string(seniority.name);
    job.salary_min = static_cast<int>(mid * 0.85 / 1000.0 + 0.5) * 1000;
    job.salary_max = static_cast<int>(mid * 1.15 / 1000.0 + 0.5) * 1000;
    jobs_.push_back(std::move(job));
    st.job_industry.push_back(static_cast<int>(ind));
    st.job_location.push_back(loc);
    st.jobs_by_place[ind * (kRemote + 1) + static_cast<size_t>(loc)].push_back(j);
    st.jobs_by_industry[ind].push_back(j);
  }

  // Users.
  int user_width = std::max(4, Digits(options_.users));
  users_.reserve(static_cast<size_t>(options_.users));
  st.users.resize(static_cast<size_t>(options_.users));
  for (int u = 0; u < options_.users; ++u) {
    State::UserState& us = st.users[static_cast<size_t>(u)];
    Rng profile(MixSeed(options_.seed, 1000003ULL + static_cast<uint64_t>(u)));
    us.rng = Rng(MixSeed(options_.seed, 5000011ULL + static_cast<uint64_t>(u)));
    us.industry = static_cast<int>(profile.Weighted(kIndustryWeights));
    us.seniority = static_cast<int>(profile.Weighted(seniority_weights));
    us.city = static_cast<int>(profile.Weighted(city_weights));
    const City& city = kCities[static_cast<size_t>(us.city)];
    us.offset_ms = city.utc_offset_minutes * kMinute;
    us.login_method = static_cast<int>(profile.Index(kLoginMethods.size()));
    us.desktop_agent = static_cast<int>(profile.Index(kDesktopAgents.size()));
    us.mobile_agent = static_cast<int>(profile.Index(kMobileAgents.size()));
    us.mobile_share = profile.Uniform(0.05, 0.5);
    us.p_weekday = profile.Uniform(0.25, 0.7);
    us.p_weekend = us.p_weekday * profile.Uniform(0.2, 0.7);
    us.adherence = profile.Uniform(0.3, 1.0);
    us.engagement = profile.Uniform(1.0, 3.0);

    DemoUser user;
    user.user_id = PaddedId("user-", u + 1, user_width);
    user.industry = std::string(kIndustries[static_cast<size_t>(us.industry)].name);
    user.location = std::string(city.name);
    user.seniority = std::string(kSeniorities[static_cast<size_t>(us.seniority)].name);
    user.weekly_application_goal = static_cast<int>(profile.Range(3, 15));
    user.timezone = std::string(city.timezone);
    // 40% existed before the window; the others sign up during its first 85%.
    bool existing = profile.Chance(0.4);
    int64_t first_local_day = FloorDiv(st.start_ms + us.offset_ms, kDay) + 1;
    int64_t signup_day = first_local_day + static_cast<int64_t>(profile.Index(static_cast<size_t>(
                                               std::max(1, options_.days * 85 / 100))));
    int64_t tod = static_cast<int64_t>(st.SessionTimeOfDayHours(profile) * kHour);
    user.signup_ms = signup_day * kDay - us.offset_ms + tod;
    if (existing || user.signup_ms < st.start_ms || user.signup_ms > st.end_ms) {
      user.signup_ms = st.start_ms - profile.Range(1, 365) * kDay - profile.Range(0, kDay - 1);
    }
    double churn = profile.Uniform();
    if (churn < 0.2) {
      us.churn_ms = std::max(user.signup_ms, st.start_ms) +
                    static_cast<int64_t>(profile.Uniform(7, 60) * kDay);
    }
    users_.push_back(std::move(user));
  }

  st.system_rng = Rng(MixSeed(options_.seed, 3));
  int64_t first_day = FloorDiv(st.start_ms, kDay);
  st.incident_day = first_day + 1 +
                    static_cast<int64_t>(
                        st.system_rng.Index(static_cast<size_t>(std::max(1, options_.days - 2))));
}

DemoGenerator::~DemoGenerator() = default;
DemoGenerator::DemoGenerator(DemoGenerator&&) noexcept = default;
DemoGenerator& DemoGenerator::operator=(DemoGenerator&&) noexcept = default;

bool DemoGenerator::NextBatch(size_t max_events, std::string* body) {
  body->clear();
  State& st = *state_;
  max_events = std::max<size_t>(max_events, 1);
  while (st.ready.size() < max_events && st.Advance()) {
  }
  if (st.ready.empty()) return false;
  body->append("{\"events\":[");
  for (size_t i = 0; i < max_events && !st.ready.empty(); ++i) {
    if (i > 0) body->push_back(',');
    st.Write(st.ready.front(), &truth_, body);
    st.ready.pop_front();
  }
  body->append("]}");
  return true;
}

bool DemoGenerator::NextLines(size_t max_events, std::string* out) {
  out->clear();
  State& st = *state_;
  max_events = std::max<size_t>(max_events, 1);
  while (st.ready.size() < max_events && st.Advance()) {
  }
  if (st.ready.empty()) return false;
  for (size_t i = 0; i < max_events && !st.ready.empty(); ++i) {
    st.Write(st.ready.front(), &truth_, out);
    out->push_back('\n');
    st.ready.pop_front();
  }
  return true;
}

nlohmann::json ToJson(const DemoUser& user) {
  return {{"user_id", user.user_id},
          {"industry", user.industry},
          {"location", user.location},
          {"seniority", user.seniority},
          {"weekly_application_goal", user.weekly_application_goal},
          {"timezone", user.timezone},
          {"signup_at", FormatIsoMillis(user.signup_ms)}};
}

nlohmann::json ToJson(const DemoJob& job) {
  return {{"job_id", job.job_id},         {"title", job.title},
          {"company", job.company},       {"industry", job.industry},
          {"location", job.location},     {"seniority", job.seniority},
          {"salary_min", job.salary_min}, {"salary_max", job.salary_max}};
}

nlohmann::json ToJson(const DemoTruth& truth) {
  nlohmann::json per_user = nlohmann::json::object();
  for (const auto& [id, t] : truth.per_user) {
    per_user[id] = {{"sessions", t.sessions},
                    {"applications", t.applications},
                    {"employer_responses", t.employer_responses},
                    {"interviews", t.interviews},
                    {"offers", t.offers},
                    {"offers_accepted", t.offers_accepted}};
  }
  return {{"events", truth.events},
          {"events_by_type", truth.events_by_type},
          {"sessions", truth.sessions},
          {"applications", truth.applications},
          {"employer_responses", truth.employer_responses},
          {"interviews", truth.interviews},
          {"offers", truth.offers},
          {"offers_accepted", truth.offers_accepted},
          {"applications_by_status", truth.applications_by_status},
          {"per_user", per_user}};
}

}  // namespace ca::app
