# Random data and random specs for the differential tests of the query engines (reused by the
# backend tests), and the differential test: SQLite vs the executor over a TestSnapshot and over
# the real EventStore.
ca_library(query_random
  SOURCES random_query.cc
  DEPS ca_query ca_event nlohmann_json::nlohmann_json)
ca_test(query_differential_test
  SOURCES differential_test.cc
  DEPS ca_query_random ca_query ca_query_testing ca_store)
