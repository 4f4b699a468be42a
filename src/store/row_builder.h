#pragma once

#include <array>
#include <memory>
#include <string>

#include "base/result.h"
#include "event/event.h"
#include "io/env.h"
#include "store/column_batch.h"
#include "store/dictionary.h"

namespace ca::store {

/// The dictionaries of one tenant's id columns (every IsDictionaryColumn), kept in one directory
/// as `<column name>.dict`.
class TenantDictionaries {
 public:
  /// Opens (creating) the dictionaries in `dir`; with a null `env`, in-memory ones.
  static Result<std::unique_ptr<TenantDictionaries>> Open(io::Env* env, const std::string& dir);

  Dictionary& Of(Column c) { return *dicts_[ColumnBatch::DictIndex(c)]; }
  const Dictionary& Of(Column c) const { return *dicts_[ColumnBatch::DictIndex(c)]; }
  /// Persists every dictionary (before a part that uses their new ids is written).
  Status PersistAll();

 private:
  std::array<std::unique_ptr<Dictionary>, 10> dicts_;
};

/// Appends `event` as one row of `batch` (every column), mapping strings to ids through `dicts`
/// and deriving the core columns from properties and context as docs/api/query.md's field table
/// says.
void AppendRow(const event::Event& event, TenantDictionaries& dicts, ColumnBatch* batch);

/// Bytes a row of `batch` holds beyond its fixed-size columns (strings), for memory accounting.
size_t RowStringBytes(const event::Event& event);

}  // namespace ca::store
