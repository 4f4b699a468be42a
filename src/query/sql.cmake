# Query spec buckets, SQL compiler and the SQLite engine.
target_sources(ca_query PRIVATE buckets.cc result_json.cc sql_compiler.cc sqlite_engine.cc)
ca_test(query_spec_test
  SOURCES spec_test.cc buckets_test.cc
  DEPS ca_query)
ca_test(query_sql_test
  SOURCES sql_test.cc
  DEPS ca_query)
