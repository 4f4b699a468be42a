# The store engine: dictionaries, memtable, flush, merge, snapshots, recovery.
target_sources(ca_store PRIVATE dictionary.cc json_fields.cc row_builder.cc manifest.cc
  granule_cache.cc user_rows.cc part_merge.cc event_store.cc)
target_link_libraries(ca_store PUBLIC ca_wal nlohmann_json::nlohmann_json spdlog::spdlog ${XXHASH_LIBRARY})
ca_test(user_rows_test SOURCES user_rows_test.cc DEPS ca_store)
ca_test(part_merge_test SOURCES part_merge_test.cc DEPS ca_store)
ca_test(store_engine_test
  SOURCES dictionary_test.cc json_fields_test.cc manifest_test.cc event_store_test.cc
  DEPS ca_store)
