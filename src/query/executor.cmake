# The embedded executor over store snapshots.
target_sources(ca_query PRIVATE executor.cc)

# An in-memory TenantSnapshot for the executor's tests and the differential test.
ca_library(query_testing
  SOURCES test_snapshot.cc
  DEPS ca_query ca_store ca_event nlohmann_json::nlohmann_json)

ca_test(executor_test
  SOURCES executor_test.cc
  DEPS ca_query_testing ca_query)
