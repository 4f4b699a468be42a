#include "query/sql_compiler.h"

#include <algorithm>
#include <map>

#include "query/result_json.h"

namespace ca::query {
namespace {

using Json = nlohmann::json;

// Dialect helpers: everything that differs between SQL flavours goes through these.

/// Placeholder of the 1-based parameter `n`.
std::string Placeholder(Dialect, size_t n) { return "?" + std::to_string(n); }

/// The JSON path of a top-level key, bound as a parameter.
std::string PropertyPath(Dialect, const std::string& key) { return "$.\"" + key + "\""; }

/// Predicates on the JSON value at `path` (a placeholder) in `doc`; NULL when the key is missing.
std::string JsonIsText(Dialect, const std::string& doc, const std::string& path) {
  return "json_type(" + doc + ", " + path + ") = 'text'";
}
std::string JsonIsNumber(Dialect, const std::string& doc, const std::string& path) {
  return "json_type(" + doc + ", " + path + ") IN ('integer', 'real')";
}
std::string JsonIsBool(Dialect, const std::string& doc, const std::string& path, bool b) {
  return "json_type(" + doc + ", " + path + ") = '" + (b ? "true" : "false") + "'";
}
std::string JsonIsNotNull(Dialect, const std::string& doc, const std::string& path) {
  return "json_type(" + doc + ", " + path + ") <> 'null'";
}
/// The value as text (only meaningful when JsonIsText) or as a double (when JsonIsNumber).
std::string JsonText(Dialect, const std::string& doc, const std::string& path) {
  return "json_extract(" + doc + ", " + path + ")";
}
std::string JsonNumber(Dialect, const std::string& doc, const std::string& path) {
  return "CAST(json_extract(" + doc + ", " + path + ") AS REAL)";
}

/// Substring test, bytes, case-sensitive.
std::string Contains(Dialect, const std::string& hay, const std::string& needle) {
  return "instr(" + hay + ", " + needle + ") > 0";
}

std::string NullSafeEq(Dialect, const std::string& a, const std::string& b) {
  return a + " IS " + b;
}

/// Integer division of two integer expressions (truncating; both sides are >= 0 here).
std::string IntDiv(Dialect, const std::string& a, const std::string& b) {
  return "((" + a + ") / (" + b + "))";
}

/// Byte-wise ascending order of a text expression.
std::string ByteOrder(Dialect, const std::string& e) { return e; }

/// "name AS MATERIALIZED (...)": computed once (and indexable for joins), not inlined.
std::string MaterializedCte(Dialect, const std::string& name, const std::string& body) {
  return name + " AS MATERIALIZED (" + body + ")";
}

/// Parameters and SQL text of one statement under construction.
class Builder {
 public:
  explicit Builder(Dialect d) : d_(d) {}

  Dialect dialect() const { return d_; }

  /// Appends a parameter; returns its placeholder.
  std::string Param(SqlValue v) {
    params_.push_back(std::move(v));
    return Placeholder(d_, params_.size());
  }

  SqlStatement Finish(std::string sql) { return SqlStatement{std::move(sql), std::move(params_)}; }

 private:
  Dialect d_;
  std::vector<SqlValue> params_;
};

/// The condition on the event type of a matcher: every type for kAnyEvent.
std::string TypeIs(Builder& b, const std::string& event) {
  if (event == kAnyEvent) return "1 = 1";
  return "type = " + b.Param(event);
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

SqlValue LiteralParam(const Literal& lit) {
  if (const auto* s = std::get_if<std::string>(&lit)) return *s;
  if (const auto* d = std::get_if<double>(&lit)) return *d;
  return int64_t{std::get<bool>(lit) ? 1 : 0};
}

/// A property equal to one literal: same JSON kind and equal value. Never NULL.
std::string PropertyEq(Builder& b, const std::string& path, const Literal& lit) {
  Dialect d = b.dialect();
  if (const auto* s = std::get_if<std::string>(&lit)) {
    return "COALESCE(" + JsonIsText(d, "properties", path) + " AND " +
           JsonText(d, "properties", path) + " = " + b.Param(*s) + ", 0)";
  }
  if (const auto* x = std::get_if<double>(&lit)) {
    return "COALESCE(" + JsonIsNumber(d, "properties", path) + " AND " +
           JsonNumber(d, "properties", path) + " = " + b.Param(*x) + ", 0)";
  }
  return "COALESCE(" + JsonIsBool(d, "properties", path, std::get<bool>(lit)) + ", 0)";
}

/// The SQL predicate of one filter (never NULL, so NOT and OR compose).
std::string FilterSql(Builder& b, const Filter& f) {
  Dialect d = b.dialect();
  if (!f.field) {
    std::string path = b.Param(PropertyPath(d, f.property));
    switch (f.op) {
      case FilterOp::kEq:
        return PropertyEq(b, path, f.values[0]);
      case FilterOp::kNeq:
        return "NOT " + PropertyEq(b, path, f.values[0]);
      case FilterOp::kIn: {
        std::vector<std::string> any;
        for (const Literal& lit : f.values) any.push_back(PropertyEq(b, path, lit));
        return "(" + Join(any, " OR ") + ")";
      }
      case FilterOp::kContains:
        return "COALESCE(" + JsonIsText(d, "properties", path) + " AND " +
               Contains(d, JsonText(d, "properties", path),
                        b.Param(std::get<std::string>(f.values[0]))) +
               ", 0)";
      case FilterOp::kGt:
      case FilterOp::kLt:
        return "COALESCE(" + JsonIsNumber(d, "properties", path) + " AND " +
               JsonNumber(d, "properties", path) + (f.op == FilterOp::kGt ? " > " : " < ") +
               b.Param(std::get<double>(f.values[0])) + ", 0)";
      case FilterOp::kExists:
        return "COALESCE(" + JsonIsNotNull(d, "properties", path) + ", 0)";
    }
    return "0";
  }
  std::string col(store::ColumnName(*f.field));
  auto eq = [&](const Literal& lit) {
    return "(" + col + " IS NOT NULL AND " + col + " = " + b.Param(LiteralParam(lit)) + ")";
  };
  switch (f.op) {
    case FilterOp::kEq:
      return eq(f.values[0]);
    case FilterOp::kNeq:
      return "NOT " + eq(f.values[0]);
    case FilterOp::kIn: {
      std::vector<std::string> any;
      for (const Literal& lit : f.values) any.push_back(eq(lit));
      return "(" + Join(any, " OR ") + ")";
    }
    case FilterOp::kContains:
      return "(" + col + " IS NOT NULL AND " +
             Contains(d, col, b.Param(std::get<std::string>(f.values[0]))) + ")";
    case FilterOp::kGt:
    case FilterOp::kLt:
      return "(" + col + " IS NOT NULL AND " + col + (f.op == FilterOp::kGt ? " > " : " < ") +
             b.Param(LiteralParam(f.values[0])) + ")";
    case FilterOp::kExists:
      return "(" + col + " IS NOT NULL)";
  }
  return "0";
}

/// Conditions of the tenant and the filters; more conditions are appended by the caller.
class Where {
 public:
  Where(Builder& b, const std::string& tenant) : b_(b) { Add("tenant = " + b.Param(tenant)); }
  Where& Add(std::string cond) {
    conds_.push_back(std::move(cond));
    return *this;
  }
  Where& Filters(const std::vector<Filter>& filters) {
    for (const Filter& f : filters) Add(FilterSql(b_, f));
    return *this;
  }
  Where& Range(int64_t from, int64_t to) {
    Add("ts >= " + b_.Param(from));
    return Add("ts < " + b_.Param(to));
  }
  std::string Sql() const { return Join(conds_, " AND "); }

 private:
  Builder& b_;
  std::vector<std::string> conds_;
};

/// "b(idx, bs) AS (VALUES (0, ?), (1, ?), ...)": bucket starts as parameters.
std::string BucketsCte(Builder& b, const Buckets& buckets) {
  std::string out = "b(idx, bs) AS (VALUES ";
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (i > 0) out += ", ";
    out += "(" + std::to_string(i) + ", " + b.Param(buckets.starts()[i]) + ")";
  }
  return out + ")";
}

/// Body of a CTE giving each row of `src` (columns `cols` plus `ts`) the index of its bucket
/// (`bucket`): bucket starts and rows in one stream ordered by time (starts first on ties), the
/// running maximum of the start indices is the row's bucket.
std::string BucketizeBody(const std::string& src, const std::vector<std::string>& cols) {
  std::string nulls, names;
  for (const std::string& c : cols) {
    nulls += "NULL AS " + c + ", ";
    names += c + ", ";
  }
  return "SELECT " + names + "ts, bucket FROM (SELECT " + names +
         "ts, kind, MAX(bidx) OVER (ORDER BY ts, kind ROWS BETWEEN UNBOUNDED PRECEDING AND "
         "CURRENT ROW) AS bucket FROM (SELECT " +
         nulls + "bs AS ts, idx AS bidx, 0 AS kind FROM b UNION ALL SELECT " + names +
         "ts, NULL, 1 FROM " + src + ") u) w WHERE kind = 1";
}

std::string EntityColumn(FunnelBy by) {
  return by == FunnelBy::kUser ? "user_id" : "application_id";
}

int Percent(Math m) {
  switch (m) {
    case Math::kP50:
      return 50;
    case Math::kP90:
      return 90;
    case Math::kP99:
      return 99;
    default:
      return 0;
  }
}

/// Rows: (0, rank, NULL, key, events, NULL) per breakdown value; (1, gid, bucket or -1 for the
/// total, NULL, a1, a2) per aggregate cell; gid = rank for the first `limit` values, limit + 1 for
/// the rest.
SqlStatement CompileSeries(const QuerySpec& spec, const TrendsSpec& t, const Series& s,
                           const Buckets& buckets, const std::string& tenant, Dialect d) {
  Builder b(d);
  std::string key = "NULL";
  if (t.breakdown) {
    if (t.breakdown->field) {
      key = std::string(store::ColumnName(*t.breakdown->field));
    } else {
      std::string path = b.Param(PropertyPath(d, t.breakdown->property));
      key = "CASE WHEN " + JsonIsText(d, "properties", path) + " THEN " +
            JsonText(d, "properties", path) + " END";
    }
  }
  int limit = t.breakdown ? t.breakdown->limit : 1;
  std::string bcte = BucketsCte(b, buckets);
  Where w(b, tenant);
  w.Add(TypeIs(b, s.matcher.event)).Range(spec.from_ms, spec.to_ms);
  w.Filters(spec.filters).Filters(s.matcher.filters);

  std::string sql =
      "WITH " + bcte + ", m AS (SELECT ts, event_id, user_id, value, " + key +
      " AS k FROM ev WHERE " + w.Sql() + "), " +
      MaterializedCte(d, "mb", BucketizeBody("m", {"event_id", "user_id", "value", "k"})) + ", " +
      MaterializedCte(d, "rk",
                      "SELECT k, COUNT(*) AS n, ROW_NUMBER() OVER (ORDER BY COUNT(*) "
                      "DESC, CASE WHEN k IS NULL THEN 0 ELSE 1 END, " +
                          ByteOrder(d, "k") + ") AS r FROM mb GROUP BY k") +
      ", " +
      MaterializedCte(d, "g",
                      "SELECT mb.bucket, mb.ts, mb.event_id, mb.user_id, mb.value, "
                      "CASE WHEN rk.r <= " +
                          std::to_string(limit) + " THEN rk.r ELSE " + std::to_string(limit + 1) +
                          " END AS gid FROM mb JOIN rk ON " + NullSafeEq(d, "mb.k", "rk.k")) +
      " SELECT 0, r, NULL, k, n, NULL FROM rk";

  // One aggregate query per grouping level: per (gid, bucket) and per gid (the total).
  for (bool total : {false, true}) {
    std::string bucket = total ? "-1" : "bucket";
    std::string part = total ? "gid" : "gid, bucket";
    std::string agg;
    switch (s.math) {
      case Math::kCount:
        agg = "SELECT 1, gid, " + bucket + ", NULL, COUNT(*), NULL FROM g GROUP BY " + part;
        break;
      case Math::kUniqueUsers:
        agg = "SELECT 1, gid, " + bucket +
              ", NULL, COUNT(DISTINCT user_id), NULL FROM g GROUP BY " + part;
        break;
      case Math::kMin:
      case Math::kMax:
        agg = "SELECT 1, gid, " + bucket + ", NULL, " + (s.math == Math::kMin ? "MIN" : "MAX") +
              "(value), NULL FROM g WHERE value IS NOT NULL GROUP BY " + part;
        break;
      case Math::kSum:
      case Math::kAvg:
        // Summed in event order (timestamp, event_id) so that the double result does not depend
        // on the scan order.
        agg = "SELECT 1, gid, " + bucket +
              ", NULL, s, c FROM (SELECT gid, bucket, SUM(value) OVER (PARTITION BY " + part +
              " ORDER BY ts, " + ByteOrder(d, "event_id") +
              " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s, ROW_NUMBER() OVER "
              "(PARTITION BY " +
              part + " ORDER BY ts DESC, " + ByteOrder(d, "event_id") +
              " DESC) AS last, COUNT(*) OVER (PARTITION BY " + part +
              ") AS c FROM g WHERE value IS NOT NULL) x WHERE last = 1";
        break;
      default:
        agg = "SELECT 1, gid, " + bucket +
              ", NULL, value, NULL FROM (SELECT gid, bucket, value, ROW_NUMBER() OVER "
              "(PARTITION BY " +
              part + " ORDER BY value) AS rn, COUNT(*) OVER (PARTITION BY " + part +
              ") AS c FROM g WHERE value IS NOT NULL) x WHERE rn = " +
              IntDiv(d, std::to_string(Percent(s.math)) + " * c + 99", "100");
        break;
    }
    sql += " UNION ALL " + agg;
  }
  return b.Finish(std::move(sql));
}

/// Rows: (0, level, entities, in_progress) per reached level; (1, step k (1-based), median
/// t(k) - t(k-1), NULL) per step k >= 2 reached by any entity.
SqlStatement CompileFunnel(const QuerySpec& spec, const FunnelSpec& f, const std::string& tenant,
                           Dialect d) {
  Builder b(d);
  std::string ent = EntityColumn(f.by);
  size_t n = f.steps.size();
  std::string window = b.Param(f.window_ms);
  std::vector<std::string> ctes;
  for (size_t k = 0; k < n; ++k) {
    Where w(b, tenant);
    w.Add(TypeIs(b, f.steps[k].event))
        .Add(ent + " IS NOT NULL")
        .Range(spec.from_ms, spec.to_ms)
        .Filters(spec.filters)
        .Filters(f.steps[k].filters);
    ctes.push_back(MaterializedCte(d, "s" + std::to_string(k + 1),
                                   "SELECT " + ent + " AS ent, ts FROM ev WHERE " + w.Sql()));
  }
  ctes.push_back("c1 AS (SELECT DISTINCT ent, ts AS t1 FROM s1)");
  // c<k>: the chains of c<k-1> with t<k> = the earliest step-k event strictly after t<k-1> when
  // it is within t1 + window (else NULL). The earliest later event comes from a running minimum
  // over the entity's chains and step-k events in descending time (chains before events on equal
  // times, so an event at t<k-1> itself is not "later").
  std::vector<std::string> prev = {"t1"};
  for (size_t k = 2; k <= n; ++k) {
    std::string tk = "t" + std::to_string(k), tp = "t" + std::to_string(k - 1);
    std::string cp = "c" + std::to_string(k - 1);
    std::string cols = Join(prev, ", ");
    std::vector<std::string> nulls(prev.size(), "NULL");
    ctes.push_back(MaterializedCte(
        d, "c" + std::to_string(k),
        "SELECT ent, " + cols + ", CASE WHEN nx <= t1 + " + window + " THEN nx END AS " + tk +
            " FROM (SELECT ent, " + cols + ", kind, MIN(sts) OVER (PARTITION BY ent ORDER BY ts " +
            "DESC, kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nx FROM (SELECT "
            "ent, " +
            cols + ", " + tp + " AS ts, NULL AS sts, 0 AS kind FROM " + cp + " WHERE " + tp +
            " IS NOT NULL UNION ALL SELECT ent, " + Join(nulls, ", ") + ", ts, ts, 1 FROM s" +
            std::to_string(k) + ") u) w WHERE kind = 0 UNION ALL SELECT ent, " + cols +
            ", NULL FROM " + cp + " WHERE " + tp + " IS NULL"));
    prev.push_back(tk);
  }
  std::string level = "1";
  for (size_t k = 2; k <= n; ++k) {
    level += " + CASE WHEN t" + std::to_string(k) + " IS NOT NULL THEN 1 ELSE 0 END";
  }
  ctes.push_back(MaterializedCte(
      d, "best",
      "SELECT * FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY ent ORDER BY lvl DESC, t1) AS "
      "rn FROM (SELECT c.*, " +
          level + " AS lvl FROM c" + std::to_string(n) + " c) x) y WHERE rn = 1"));
  std::string progress;
  if (f.by == FunnelBy::kUser) {
    progress = "SELECT lvl, CASE WHEN t1 + " + window + " >= " + b.Param(spec.to_ms) +
               " THEN 1 ELSE 0 END AS prog FROM best";
  } else {
    Where w(b, tenant);
    w.Add("application_id IS NOT NULL")
        .Range(spec.from_ms, spec.to_ms)
        .Add("((type = " + b.Param(std::string("application_status_changed")) +
             " AND status IS NOT NULL AND status IN (" + b.Param(std::string("rejected")) + ", " +
             b.Param(std::string("withdrawn")) + ", " + b.Param(std::string("ghosted")) +
             ")) OR type IN (" + b.Param(std::string("offer_accepted")) + ", " +
             b.Param(std::string("offer_rejected")) + "))");
    ctes.push_back(MaterializedCte(
        d, "term", "SELECT DISTINCT application_id AS ent FROM ev WHERE " + w.Sql()));
    progress =
        "SELECT lvl, CASE WHEN ent IN (SELECT ent FROM term) THEN 0 ELSE 1 END AS prog FROM best";
  }
  std::string sql = "WITH " + Join(ctes, ", ") + " SELECT 0, lvl, COUNT(*), SUM(prog) FROM (" +
                    progress + ") p GROUP BY lvl";
  for (size_t k = 2; k <= n; ++k) {
    std::string delta = "t" + std::to_string(k) + " - t" + std::to_string(k - 1);
    sql += " UNION ALL SELECT 1, " + std::to_string(k) + ", delta, NULL FROM (SELECT " + delta +
           " AS delta, ROW_NUMBER() OVER (ORDER BY " + delta +
           ") AS rn, COUNT(*) OVER () AS c FROM best WHERE lvl >= " + std::to_string(k) +
           ") x WHERE rn = " + IntDiv(d, "50 * c + 99", "100");
  }
  return b.Finish(std::move(sql));
}

/// Rows: (cohort bucket, n, users): n = 0 is the cohort's size.
SqlStatement CompileRetention(const QuerySpec& spec, const RetentionSpec& r, const Buckets& buckets,
                              const std::string& tenant, Dialect d) {
  Builder b(d);
  std::string bcte = BucketsCte(b, buckets);
  Where ws(b, tenant);
  ws.Add(TypeIs(b, r.start.event))
      .Add("user_id IS NOT NULL")
      .Range(spec.from_ms, spec.to_ms)
      .Filters(spec.filters)
      .Filters(r.start.filters);
  Where wr(b, tenant);
  wr.Add(TypeIs(b, r.ret.event))
      .Add("user_id IS NOT NULL")
      .Range(spec.from_ms, buckets.end(buckets.size() - 1))
      .Filters(spec.filters)
      .Filters(r.ret.filters);
  std::string periods = std::to_string(r.periods);
  std::string sql =
      "WITH " + bcte + ", " +
      MaterializedCte(
          d, "s", "SELECT user_id, MIN(ts) AS ts FROM ev WHERE " + ws.Sql() + " GROUP BY user_id") +
      ", " + MaterializedCte(d, "sc", BucketizeBody("s", {"user_id"})) +
      ", r AS (SELECT user_id, ts FROM ev WHERE " + wr.Sql() + "), " +
      MaterializedCte(
          d, "rb",
          "SELECT DISTINCT user_id, bucket FROM (" + BucketizeBody("r", {"user_id"}) + ") x") +
      " SELECT bucket, 0, COUNT(*) FROM sc GROUP BY bucket UNION ALL SELECT sc.bucket, rb.bucket - "
      "sc.bucket, COUNT(DISTINCT sc.user_id) FROM sc JOIN rb ON rb.user_id = sc.user_id AND "
      "rb.bucket > sc.bucket AND rb.bucket < sc.bucket + " +
      periods + " GROUP BY sc.bucket, rb.bucket - sc.bucket";
  return b.Finish(std::move(sql));
}

/// Rows: (depth, rank, count, n1 .. n<depth>) for the first `limit` ranks of every depth.
SqlStatement CompilePaths(const QuerySpec& spec, const PathsSpec& p, const std::string& tenant,
                          Dialect d) {
  Builder b(d);
  std::vector<std::string> anchor = {TypeIs(b, p.anchor.event)};
  for (const Filter& f : p.anchor.filters) anchor.push_back(FilterSql(b, f));
  Where w(b, tenant);
  w.Add("user_id IS NOT NULL").Range(spec.from_ms, spec.to_ms).Filters(spec.filters);
  std::string fn = p.direction == Direction::kNext ? "LEAD" : "LAG";
  std::vector<std::string> cols;
  for (int j = 1; j <= p.depth; ++j) cols.push_back("n" + std::to_string(j));
  std::string shifted;
  for (int j = 1; j <= p.depth; ++j) {
    shifted += ", " + fn + "(type, " + std::to_string(j) + ") OVER win AS n" + std::to_string(j);
  }
  std::vector<std::string> parts;
  for (int dep = 1; dep <= p.depth; ++dep) {
    // n0 is the anchor's own type (the anchor may be "*").
    std::vector<std::string> sel = {"n0"}, grp = {"n0"};
    for (int j = 1; j <= p.depth; ++j) {
      sel.push_back(j <= dep ? cols[j - 1] : "NULL AS " + cols[j - 1]);
      if (j <= dep) grp.push_back(cols[j - 1]);
    }
    parts.push_back("SELECT " + std::to_string(dep) + " AS d, " + Join(sel, ", ") +
                    ", COUNT(*) AS c FROM w WHERE is_anchor = 1 AND n" + std::to_string(dep) +
                    " IS NOT NULL GROUP BY " + Join(grp, ", "));
  }
  std::vector<std::string> order = {ByteOrder(d, "n0")};
  for (const std::string& c : cols) order.push_back(ByteOrder(d, c));
  std::string sql =
      "WITH seq AS (SELECT user_id, type, ts, event_id, CASE WHEN " + Join(anchor, " AND ") +
      " THEN 1 ELSE 0 END AS is_anchor FROM ev WHERE " + w.Sql() + "), " +
      MaterializedCte(d, "w",
                      "SELECT is_anchor, type AS n0" + shifted +
                          " FROM seq WINDOW win AS (PARTITION BY user_id ORDER BY ts, " +
                          ByteOrder(d, "event_id") + ")") +
      ", p AS (" + Join(parts, " UNION ALL ") + "), rk AS (SELECT d, c, n0, " + Join(cols, ", ") +
      ", ROW_NUMBER() OVER (PARTITION BY d ORDER BY c DESC, " + Join(order, ", ") +
      ") AS r FROM p) SELECT d, r, c, n0, " + Join(cols, ", ") +
      " FROM rk WHERE r <= " + std::to_string(p.limit) + " ORDER BY d, r";
  return b.Finish(std::move(sql));
}

/// Rows: event_id, type, user_id, anonymous_id, session_id, ts, received_at, properties,
/// context; newest first.
SqlStatement CompileEvents(const QuerySpec& spec, const EventsSpec& e, const std::string& tenant,
                           Dialect d) {
  Builder b(d);
  Where w(b, tenant);
  w.Range(spec.from_ms, spec.to_ms).Filters(spec.filters);
  if (e.after) {
    std::string ts = b.Param(e.after->first);
    w.Add("(ts < " + ts + " OR (ts = " + ts + " AND " + ByteOrder(d, "event_id") + " < " +
          b.Param(e.after->second) + "))");
  }
  std::string sql =
      "SELECT event_id, type, COALESCE(user_id, ''), COALESCE(anonymous_id, ''), "
      "COALESCE(session_id, ''), ts, received_at, properties, context FROM ev WHERE " +
      w.Sql() + " ORDER BY ts DESC, " + ByteOrder(d, "event_id") + " DESC LIMIT " +
      std::to_string(e.limit);
  return b.Finish(std::move(sql));
}

// Reading rows back.

bool IsNull(const SqlValue& v) { return std::holds_alternative<std::monostate>(v); }

int64_t AsInt(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* x = std::get_if<double>(&v)) return static_cast<int64_t>(*x);
  return 0;
}

std::optional<double> AsDouble(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* x = std::get_if<double>(&v)) return *x;
  return std::nullopt;
}

std::optional<std::string> AsText(const SqlValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return std::nullopt;
}

Status BadRows(std::string_view what) {
  return Status(ErrorCode::kInternal, "unexpected SQL result rows: " + std::string(what));
}

Result<Json> AssembleTrends(const QuerySpec& spec, const TrendsSpec& t, const SqlPlan& plan,
                            const std::vector<SqlRows>& rows) {
  const Buckets& buckets = *plan.buckets;
  std::vector<std::string> labels;
  for (size_t i = 0; i < buckets.size(); ++i) labels.push_back(buckets.Label(i));
  std::vector<TrendsRow> out;
  int limit = t.breakdown ? t.breakdown->limit : 1;
  for (size_t si = 0; si < t.series.size(); ++si) {
    const Series& s = t.series[si];
    // gid -> key; gid -> cells (bucket -1 = total).
    std::map<int64_t, std::optional<std::string>> keys;
    std::map<int64_t, std::map<int64_t, std::optional<double>>> cells;
    for (const auto& row : rows[si]) {
      if (row.size() != 6) return BadRows("trends row width");
      int64_t gid = AsInt(row[1]);
      if (AsInt(row[0]) == 0) {
        keys[gid] = AsText(row[3]);
        continue;
      }
      std::optional<double> v = AsDouble(row[4]);
      if (s.math == Math::kAvg) {
        int64_t c = AsInt(row[5]);
        v = (v && c > 0) ? std::optional<double>(*v / static_cast<double>(c)) : std::nullopt;
      }
      cells[gid][IsNull(row[2]) ? -1 : AsInt(row[2])] = v;
    }
    TrendsRow base;
    base.index = si;
    base.event = s.matcher.event;
    base.math = s.math;
    if (keys.empty()) {
      out.push_back(base);
      continue;
    }
    auto fill = [&](TrendsRow row, int64_t gid) {
      row.values.assign(buckets.size(), std::nullopt);
      for (const auto& [bucket, v] : cells[gid]) {
        if (bucket < 0) {
          row.total = v;
        } else if (static_cast<size_t>(bucket) < buckets.size()) {
          row.values[static_cast<size_t>(bucket)] = v;
        }
      }
      out.push_back(std::move(row));
    };
    for (const auto& [gid, key] : keys) {
      if (gid > limit) break;
      TrendsRow row = base;
      row.breakdown = key;
      fill(std::move(row), gid);
    }
    if (keys.size() > static_cast<size_t>(limit)) {
      TrendsRow row = base;
      row.other = true;
      fill(std::move(row), limit + 1);
    }
  }
  return TrendsJson(t.interval, spec.timezone, labels, out);
}

Result<Json> AssembleFunnel(const FunnelSpec& f, const SqlRows& rows) {
  size_t n = f.steps.size();
  std::vector<int64_t> at_level(n + 1, 0), progress(n + 1, 0);
  std::vector<std::optional<int64_t>> median(n + 1);
  for (const auto& row : rows) {
    if (row.size() != 4) return BadRows("funnel row width");
    int64_t k = AsInt(row[1]);
    if (k < 1 || static_cast<size_t>(k) > n) return BadRows("funnel level");
    if (AsInt(row[0]) == 0) {
      at_level[k] = AsInt(row[2]);
      progress[k] = AsInt(row[3]);
    } else {
      median[k] = AsInt(row[2]);
    }
  }
  std::vector<FunnelStepRow> steps(n);
  int64_t reached = 0;
  for (size_t k = n; k >= 1; --k) {
    reached += at_level[k];
    FunnelStepRow& s = steps[k - 1];
    s.event = f.steps[k - 1].event;
    s.count = reached;
    if (k >= 2) s.median_ms_from_previous = median[k];
    if (k < n) {
      s.in_progress = progress[k];
      s.dropped = at_level[k] - progress[k];
    }
  }
  return FunnelJson(f.by, steps);
}

Result<Json> AssembleRetention(const RetentionSpec& r, const SqlPlan& plan, const SqlRows& rows) {
  std::map<int64_t, std::vector<int64_t>> cohorts;
  for (const auto& row : rows) {
    if (row.size() != 3) return BadRows("retention row width");
    int64_t cohort = AsInt(row[0]), n = AsInt(row[1]);
    if (n < 0 || n >= r.periods || cohort < 0 ||
        static_cast<size_t>(cohort) >= plan.cohort_buckets) {
      return BadRows("retention cell");
    }
    auto& values = cohorts[cohort];
    values.resize(static_cast<size_t>(r.periods), 0);
    values[static_cast<size_t>(n)] = AsInt(row[2]);
  }
  std::vector<RetentionCohortRow> out;
  for (auto& [cohort, values] : cohorts) {
    if (values[0] == 0) continue;
    out.push_back(RetentionCohortRow{plan.buckets->Label(static_cast<size_t>(cohort)), values});
  }
  return RetentionJson(r.period, out);
}

Result<Json> AssemblePaths(const PathsSpec& p, const SqlRows& rows) {
  std::vector<PathRow> out;
  for (const auto& row : rows) {
    if (row.size() != static_cast<size_t>(4 + p.depth)) return BadRows("paths row width");
    PathRow path;
    path.depth = static_cast<int>(AsInt(row[0]));
    path.count = AsInt(row[2]);
    for (int j = 0; j <= path.depth; ++j) {
      auto type = AsText(row[3 + static_cast<size_t>(j)]);
      if (!type) return BadRows("paths step");
      path.steps.push_back(*type);
    }
    out.push_back(std::move(path));
  }
  return PathsJson(p.direction, out);
}

Result<Json> AssembleEvents(const EventsSpec& e, const SqlRows& rows) {
  std::vector<EventRow> out;
  for (const auto& row : rows) {
    if (row.size() != 9) return BadRows("events row width");
    EventRow ev;
    ev.event_id = AsText(row[0]).value_or("");
    ev.type = AsText(row[1]).value_or("");
    ev.user_id = AsText(row[2]).value_or("");
    ev.anonymous_id = AsText(row[3]).value_or("");
    ev.session_id = AsText(row[4]).value_or("");
    ev.timestamp_ms = AsInt(row[5]);
    ev.received_at_ms = AsInt(row[6]);
    ev.properties_json = AsText(row[7]).value_or("{}");
    ev.context_json = AsText(row[8]).value_or("{}");
    out.push_back(std::move(ev));
  }
  std::optional<std::string> next;
  if (!out.empty() && out.size() == static_cast<size_t>(e.limit)) {
    next = EncodeCursor(out.back().timestamp_ms, out.back().event_id);
  }
  return EventsJson(out, next);
}

}  // namespace

Result<SqlPlan> CompileSql(const QuerySpec& spec, const std::string& tenant, Dialect dialect) {
  if (dialect != Dialect::kSqlite) {
    return Status(ErrorCode::kInvalidArgument, "SQL dialect not implemented yet");
  }
  SqlPlan plan;
  if (const auto* t = std::get_if<TrendsSpec>(&spec.kind)) {
    CA_ASSIGN_OR_RETURN(Buckets buckets,
                        Buckets::Make(spec.from_ms, spec.to_ms, t->interval, spec.timezone));
    for (const Series& s : t->series) {
      plan.statements.push_back(CompileSeries(spec, *t, s, buckets, tenant, dialect));
    }
    plan.buckets = std::move(buckets);
  } else if (const auto* f = std::get_if<FunnelSpec>(&spec.kind)) {
    plan.statements.push_back(CompileFunnel(spec, *f, tenant, dialect));
  } else if (const auto* r = std::get_if<RetentionSpec>(&spec.kind)) {
    CA_ASSIGN_OR_RETURN(Buckets buckets,
                        Buckets::Make(spec.from_ms, spec.to_ms, r->period, spec.timezone));
    plan.cohort_buckets = buckets.size();
    CA_RETURN_IF_ERROR(buckets.Extend(static_cast<size_t>(r->periods - 1),
                                      buckets.size() + static_cast<size_t>(r->periods)));
    plan.statements.push_back(CompileRetention(spec, *r, buckets, tenant, dialect));
    plan.buckets = std::move(buckets);
  } else if (const auto* p = std::get_if<PathsSpec>(&spec.kind)) {
    plan.statements.push_back(CompilePaths(spec, *p, tenant, dialect));
  } else {
    plan.statements.push_back(
        CompileEvents(spec, std::get<EventsSpec>(spec.kind), tenant, dialect));
  }
  return plan;
}

Result<Json> AssembleSqlResult(const QuerySpec& spec, const SqlPlan& plan,
                               const std::vector<SqlRows>& rows) {
  if (rows.size() != plan.statements.size()) return BadRows("one row set per statement");
  if (const auto* t = std::get_if<TrendsSpec>(&spec.kind)) {
    if (!plan.buckets || rows.size() != t->series.size()) return BadRows("trends plan");
    return AssembleTrends(spec, *t, plan, rows);
  }
  if (rows.size() != 1) return BadRows("one statement");
  if (const auto* f = std::get_if<FunnelSpec>(&spec.kind)) return AssembleFunnel(*f, rows[0]);
  if (const auto* r = std::get_if<RetentionSpec>(&spec.kind)) {
    if (!plan.buckets) return BadRows("retention plan");
    return AssembleRetention(*r, plan, rows[0]);
  }
  if (const auto* p = std::get_if<PathsSpec>(&spec.kind)) return AssemblePaths(*p, rows[0]);
  return AssembleEvents(std::get<EventsSpec>(spec.kind), rows[0]);
}

std::string EventsTableSql(Dialect) {
  return "CREATE TABLE IF NOT EXISTS events(tenant TEXT NOT NULL, event_id TEXT NOT NULL, type "
         "TEXT NOT NULL, user_id TEXT, anonymous_id TEXT, session_id TEXT, ts INTEGER NOT NULL, "
         "received_at INTEGER NOT NULL, properties TEXT NOT NULL, context TEXT NOT NULL);"
         "CREATE INDEX IF NOT EXISTS events_tenant_type_ts ON events(tenant, type, ts);"
         "CREATE INDEX IF NOT EXISTS events_tenant_ts ON events(tenant, ts);";
}

std::string EventsViewSql(Dialect d) {
  // Constant paths (not user input) are literals here.
  auto text = [d](const std::string& doc, const std::string& path) {
    std::string p = "'" + path + "'";
    return "CASE WHEN " + JsonIsText(d, doc, p) + " THEN NULLIF(" + JsonText(d, doc, p) +
           ", '') END";
  };
  auto number = [d](const std::string& path) {
    std::string p = "'" + path + "'";
    return "CASE WHEN " + JsonIsNumber(d, "properties", p) + " THEN " +
           JsonNumber(d, "properties", p) + " END";
  };
  return "CREATE VIEW IF NOT EXISTS ev AS SELECT tenant, event_id, type, NULLIF(user_id, '') AS "
         "user_id, NULLIF(anonymous_id, '') AS anonymous_id, NULLIF(session_id, '') AS "
         "session_id, ts, received_at, properties, context, " +
         text("properties", "$.job_id") + " AS job_id, " + text("properties", "$.application_id") +
         " AS application_id, " + text("properties", "$.status") + " AS status, COALESCE(" +
         text("context", "$.page.path") + ", " + text("properties", "$.path") + ") AS path, " +
         text("context", "$.country") + " AS country, " + text("context", "$.device") +
         " AS device, COALESCE(" + number("$.value") + ", " + number("$.seconds") +
         ") AS value FROM events";
}

}  // namespace ca::query
