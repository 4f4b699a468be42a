#include "store/row_builder.h"

#include "store/json_fields.h"

namespace ca::store {
namespace {

constexpr Column kDictColumns[] = {
    Column::kUser,        Column::kAnonymous, Column::kSession, Column::kType,    Column::kJob,
    Column::kApplication, Column::kStatus,    Column::kPath,    Column::kCountry, Column::kDevice};

// The dense id of a raw JSON value when it is a string (0 when absent, not a string or empty).
uint32_t StringId(const std::optional<std::string_view>& raw, Dictionary& dict) {
  if (!raw || raw->size() < 2 || raw->front() != '"') return 0;
  std::string_view inner = raw->substr(1, raw->size() - 2);
  if (inner.find('\\') == std::string_view::npos) return dict.GetOrAdd(inner);
  auto s = AsString(*raw);
  return s ? dict.GetOrAdd(*s) : 0;
}

}  // namespace

Result<std::unique_ptr<TenantDictionaries>> TenantDictionaries::Open(io::Env* env,
                                                                     const std::string& dir) {
  auto dicts = std::make_unique<TenantDictionaries>();
  if (env) CA_RETURN_IF_ERROR(env->CreateDirs(dir));
  for (Column c : kDictColumns) {
    auto& slot = dicts->dicts_[ColumnBatch::DictIndex(c)];
    if (env) {
      CA_ASSIGN_OR_RETURN(slot,
                          Dictionary::Open(env, dir + "/" + std::string(ColumnName(c)) + ".dict"));
    } else {
      slot = std::make_unique<Dictionary>();
    }
  }
  return dicts;
}

Status TenantDictionaries::PersistAll() {
  for (auto& d : dicts_) CA_RETURN_IF_ERROR(d->Persist());
  return Status::Ok();
}

void AppendRow(const event::Event& e, TenantDictionaries& dicts, ColumnBatch* batch) {
  batch->timestamp.push_back(e.timestamp_ms);
  batch->received_at.push_back(e.received_at_ms);
  batch->flags.push_back(e.flags);
  batch->Ids(Column::kUser).push_back(dicts.Of(Column::kUser).GetOrAdd(e.user_id));
  batch->Ids(Column::kAnonymous).push_back(dicts.Of(Column::kAnonymous).GetOrAdd(e.anonymous_id));
  batch->Ids(Column::kSession).push_back(dicts.Of(Column::kSession).GetOrAdd(e.session_id));
  batch->Ids(Column::kType).push_back(dicts.Of(Column::kType).GetOrAdd(e.type));

  // One pass over each object for every member the core columns come from.
  static constexpr std::string_view kPropKeys[] = {"job_id", "application_id", "status",
                                                   "path",   "value",          "seconds"};
  static constexpr std::string_view kContextKeys[] = {"page", "country", "device"};
  static constexpr std::string_view kPageKeys[] = {"path"};
  std::optional<std::string_view> p[std::size(kPropKeys)], c[std::size(kContextKeys)], page[1];
  FindMembers(e.properties_json, kPropKeys, p);
  FindMembers(e.context_json, kContextKeys, c);
  if (c[0]) FindMembers(*c[0], kPageKeys, page);

  batch->Ids(Column::kJob).push_back(StringId(p[0], dicts.Of(Column::kJob)));
  batch->Ids(Column::kApplication).push_back(StringId(p[1], dicts.Of(Column::kApplication)));
  batch->Ids(Column::kStatus).push_back(StringId(p[2], dicts.Of(Column::kStatus)));
  uint32_t path = StringId(page[0], dicts.Of(Column::kPath));
  if (path == 0) path = StringId(p[3], dicts.Of(Column::kPath));
  batch->Ids(Column::kPath).push_back(path);
  batch->Ids(Column::kCountry).push_back(StringId(c[1], dicts.Of(Column::kCountry)));
  batch->Ids(Column::kDevice).push_back(StringId(c[2], dicts.Of(Column::kDevice)));

  double value = kNoValue;
  if (auto v = p[4] ? AsNumber(*p[4]) : std::nullopt) {
    value = *v;
  } else if (auto secs = p[5] ? AsNumber(*p[5]) : std::nullopt) {
    value = *secs;
  }
  batch->value.push_back(value);
  batch->event_id.push_back(e.event_id);
  batch->properties.push_back(e.properties_json.empty() ? "{}" : e.properties_json);
  batch->context.push_back(e.context_json.empty() ? "{}" : e.context_json);
}

size_t RowStringBytes(const event::Event& e) {
  return e.event_id.size() + e.properties_json.size() + e.context_json.size() + 3 * 32;
}

}  // namespace ca::store
