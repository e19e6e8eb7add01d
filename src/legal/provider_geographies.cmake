# Included from the top CMakeLists.txt after regiongate_part(legal ...): embeds
# data/provider_geographies.csv into rg_legal as a generated header (rebuilt when it changes).
set(RG_PROVIDER_GEO_CSV ${CMAKE_CURRENT_SOURCE_DIR}/data/provider_geographies.csv)
set(RG_PROVIDER_GEO_HDR ${CMAKE_CURRENT_BINARY_DIR}/generated/legal/provider_geographies_csv.h)
add_custom_command(
  OUTPUT ${RG_PROVIDER_GEO_HDR}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${RG_PROVIDER_GEO_CSV} -DOUTPUT=${RG_PROVIDER_GEO_HDR}
          -DSYMBOL=kProviderGeographiesCsv -P ${CMAKE_CURRENT_SOURCE_DIR}/src/admin/embed_file.cmake
  DEPENDS ${RG_PROVIDER_GEO_CSV} ${CMAKE_CURRENT_SOURCE_DIR}/src/admin/embed_file.cmake
  COMMENT "Embedding the provider geographies table"
  VERBATIM)
target_sources(rg_legal PRIVATE ${RG_PROVIDER_GEO_HDR})
target_include_directories(rg_legal PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
