# Checks a mien-eval --predictions CSV (a CTest helper).
#
#   cmake -DFILE=pred.csv -DHEADER=file,angry,... -DROWS=21 -DFIRST=angry/face_0.png -P check_predictions.cmake
#
# The header must be HEADER, there must be ROWS data rows, the first row's file must be FIRST,
# and every row must hold one probability per class (as many fields as the header) summing to 1
# within 1e-3.
cmake_minimum_required(VERSION 3.21)
file(STRINGS "${FILE}" _lines)
list(LENGTH _lines _count)
math(EXPR _rows "${_count} - 1")
if(NOT _rows EQUAL ROWS)
  message(FATAL_ERROR "${FILE}: ${_rows} data rows, expected ${ROWS}")
endif()
list(GET _lines 0 _header)
if(NOT _header STREQUAL HEADER)
  message(FATAL_ERROR "${FILE}: header '${_header}', expected '${HEADER}'")
endif()
string(REPLACE "," ";" _names "${_header}")
list(LENGTH _names _fields)
list(SUBLIST _lines 1 -1 _data)
set(_first TRUE)
foreach(_line IN LISTS _data)
  string(REPLACE "," ";" _values "${_line}")
  list(LENGTH _values _n)
  if(NOT _n EQUAL _fields)
    message(FATAL_ERROR "${FILE}: row '${_line}' has ${_n} fields, expected ${_fields}")
  endif()
  list(POP_FRONT _values _file)
  if(_first AND NOT _file STREQUAL FIRST)
    message(FATAL_ERROR "${FILE}: first file '${_file}', expected '${FIRST}'")
  endif()
  set(_first FALSE)
  # Sum in millionths (CMake's math is integer-only): each value is written with %.6g.
  set(_sum 0)
  foreach(_v IN LISTS _values)
    if(_v MATCHES "e-")
      continue()  # below 1e-4: does not move the sum at this precision
    endif()
    if(NOT _v MATCHES "^([0-9]+)(\\.([0-9]*))?$")
      message(FATAL_ERROR "${FILE}: '${_v}' in row '${_line}' is not a probability")
    endif()
    set(_int "${CMAKE_MATCH_1}")
    set(_frac "${CMAKE_MATCH_3}000000")
    string(SUBSTRING "${_frac}" 0 6 _frac)
    # "1" in front keeps leading zeros from meaning anything (REGEX REPLACE's ^ re-anchors).
    math(EXPR _sum "${_sum} + ${_int} * 1000000 + 1${_frac} - 1000000")
  endforeach()
  if(_sum LESS 999000 OR _sum GREATER 1001000)
    message(FATAL_ERROR "${FILE}: row '${_line}' sums to ${_sum} millionths, expected 1")
  endif()
endforeach()
message(STATUS "${FILE}: ${_rows} rows of ${_fields} fields, each summing to 1")
