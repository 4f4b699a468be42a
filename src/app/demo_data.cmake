# Synthetic "Career Copilot" data for `career-analytics demo` (docs/demo-data.md).
# Included from src/app/CMakeLists.txt.
ca_library(demo_data
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/demo_data.cc
  DEPS ca_base nlohmann_json::nlohmann_json)
ca_test(demo_data_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/demo_data_test.cc DEPS ca_demo_data)
