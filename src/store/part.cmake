# Part file format: column codecs, part writer and reader (docs/formats/part.md).
target_sources(ca_store PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/column_codec.cc
  ${CMAKE_CURRENT_LIST_DIR}/part_format.cc
  ${CMAKE_CURRENT_LIST_DIR}/json_shred.cc)
ca_test(column_codec_test SOURCES column_codec_test.cc DEPS ca_store)
ca_test(part_format_test SOURCES part_format_test.cc DEPS ca_store)
ca_test(json_shred_test SOURCES json_shred_test.cc DEPS ca_store)
