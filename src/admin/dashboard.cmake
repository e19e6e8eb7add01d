# Included from the top CMakeLists.txt after regiongate_part(admin ...): embeds
# src/admin/dashboard.html into rg_admin as a generated header (rebuilt when the page changes).
set(RG_DASHBOARD_HTML ${CMAKE_CURRENT_SOURCE_DIR}/src/admin/dashboard.html)
set(RG_DASHBOARD_HDR ${CMAKE_CURRENT_BINARY_DIR}/generated/admin/dashboard_html.h)
add_custom_command(
  OUTPUT ${RG_DASHBOARD_HDR}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${RG_DASHBOARD_HTML} -DOUTPUT=${RG_DASHBOARD_HDR}
          -DSYMBOL=kDashboardHtml -P ${CMAKE_CURRENT_SOURCE_DIR}/src/admin/embed_file.cmake
  DEPENDS ${RG_DASHBOARD_HTML} ${CMAKE_CURRENT_SOURCE_DIR}/src/admin/embed_file.cmake
  COMMENT "Embedding the admin dashboard page"
  VERBATIM)
target_sources(rg_admin PRIVATE ${RG_DASHBOARD_HDR})
target_include_directories(rg_admin PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
