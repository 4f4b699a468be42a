#include "store/row_builder.h"

#include "store/json_fields.h"

namespace ca::store {
namespace {

constexpr Column kDictColumns[] = {
    Column::kUser,        Column::kAnonymous, Column::kSession, Column::kType,    Column::kJob,
    Column::kApplication, Column::kStatus,    Column::kPath,    Column::kCountry, Column::kDevice};

// The dense id of the string member `key` of `json` (0 when absent, not a string or empty).
uint32_t StringMemberId(std::string_view json, std::string_view key, Dictionary& dict) {
  auto raw = FindMember(json, key);
  if (!raw) return 0;
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

  const std::string& props = e.properties_json;
  const std::string& ctx = e.context_json;
  batch->Ids(Column::kJob).push_back(StringMemberId(props, "job_id", dicts.Of(Column::kJob)));
  batch->Ids(Column::kApplication)
      .push_back(StringMemberId(props, "application_id", dicts.Of(Column::kApplication)));
  batch->Ids(Column::kStatus).push_back(StringMemberId(props, "status", dicts.Of(Column::kStatus)));

  uint32_t path = 0;
  if (auto page = FindMember(ctx, "page"))
    path = StringMemberId(*page, "path", dicts.Of(Column::kPath));
  if (path == 0) path = StringMemberId(props, "path", dicts.Of(Column::kPath));
  batch->Ids(Column::kPath).push_back(path);
  batch->Ids(Column::kCountry)
      .push_back(StringMemberId(ctx, "country", dicts.Of(Column::kCountry)));
  batch->Ids(Column::kDevice).push_back(StringMemberId(ctx, "device", dicts.Of(Column::kDevice)));

  double value = kNoValue;
  if (auto raw = FindMember(props, "value"); raw && AsNumber(*raw)) {
    value = *AsNumber(*raw);
  } else if (auto secs = FindMember(props, "seconds"); secs && AsNumber(*secs)) {
    value = *AsNumber(*secs);
  }
  batch->value.push_back(value);
  batch->event_id.push_back(e.event_id);
  batch->properties.push_back(props.empty() ? "{}" : props);
  batch->context.push_back(ctx.empty() ? "{}" : ctx);
}

size_t RowStringBytes(const event::Event& e) {
  return e.event_id.size() + e.properties_json.size() + e.context_json.size() + 3 * 32;
}

}  // namespace ca::store
