# cmake -DINPUT=<file> -DOUTPUT=<header> -DSYMBOL=<name> -P embed_file.cmake
# Writes a header holding INPUT's bytes as `inline constexpr char SYMBOL[]` (a raw string literal).
file(READ "${INPUT}" content)
set(delim "rg_embed")
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delim}\"")
endif()
set(text "#pragma once\n// Generated from ${INPUT} by src/admin/embed_file.cmake. Do not edit.\n")
string(APPEND text "inline constexpr char ${SYMBOL}[] = R\"${delim}(${content})${delim}\";\n")
# Write only when changed, so an unchanged page does not recompile.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
