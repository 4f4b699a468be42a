#Included by src / app / CMakeLists.txt : the configuration library(app / config.h) and its test.
ca_library(config SOURCES ${CMAKE_CURRENT_LIST_DIR} /
           config.cc DEPS ca_base tomlplusplus::tomlplusplus)
    ca_test(config_test SOURCES ${CMAKE_CURRENT_LIST_DIR} / config_test.cc DEPS ca_config)
