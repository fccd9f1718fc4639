# Runs one command line and checks what it did (a CTest helper for the example programs).
#
#   cmake -DCOMMAND=prog|arg|arg... [-DEXPECT_FAILURE=ON] [-DEXPECT_REGEX=re] [-DEXPECT_JSON=ON]
#         [-DEXPECT_FILES=f1|f2...] -P check_cli.cmake
#
# COMMAND's arguments are separated by '|'. EXPECT_FAILURE: the exit status must be non-zero
# (else zero). EXPECT_REGEX: stdout + stderr must match. EXPECT_JSON: the last line of stdout
# must be a JSON object with `accuracy` in [0, 1], `per_class` with precision / recall / f1 /
# support for each of the 7 classes, and `confusion` a 7x7 list. EXPECT_FILES must exist.
cmake_minimum_required(VERSION 3.21)
string(REPLACE "|" ";" _command "${COMMAND}")
execute_process(COMMAND ${_command} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
set(_all "${_out}${_err}")
message(STATUS "exit status ${_rc}; output:\n${_all}")

if(EXPECT_FAILURE)
  if(_rc EQUAL 0)
    message(FATAL_ERROR "expected a failure, the command succeeded")
  endif()
  if(NOT _rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "expected a clean failure (an exit status), found: ${_rc}")
  endif()
elseif(NOT _rc EQUAL 0)
  message(FATAL_ERROR "expected success, exit status ${_rc}")
endif()

if(DEFINED EXPECT_REGEX AND NOT _all MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match '${EXPECT_REGEX}'")
endif()

if(EXPECT_JSON)
  string(STRIP "${_out}" _stripped)
  string(REGEX REPLACE "^.*\n" "" _last "${_stripped}")
  string(JSON _accuracy ERROR_VARIABLE _error GET "${_last}" accuracy)
  if(_error)
    message(FATAL_ERROR "the last line of stdout is not a JSON object with 'accuracy': ${_error}\n${_last}")
  endif()
  if(NOT _accuracy MATCHES "^(0(\\.[0-9]+)?([eE]-?[0-9]+)?|1(\\.0*)?)$")
    message(FATAL_ERROR "accuracy ${_accuracy} is not a fraction in [0, 1]")
  endif()
  foreach(_class angry disgust fear happy sad surprise neutral)
    foreach(_field precision recall f1 support)
      string(JSON _value ERROR_VARIABLE _error GET "${_last}" per_class ${_class} ${_field})
      if(_error)
        message(FATAL_ERROR "per_class.${_class}.${_field} missing: ${_error}")
      endif()
    endforeach()
  endforeach()
  string(JSON _rows ERROR_VARIABLE _error LENGTH "${_last}" confusion)
  if(_error OR NOT _rows EQUAL 7)
    message(FATAL_ERROR "confusion must have 7 rows (found '${_rows}' ${_error})")
  endif()
  foreach(_row RANGE 6)
    string(JSON _columns LENGTH "${_last}" confusion ${_row})
    if(NOT _columns EQUAL 7)
      message(FATAL_ERROR "confusion row ${_row} has ${_columns} columns, expected 7")
    endif()
  endforeach()
endif()

if(DEFINED EXPECT_FILES)
  string(REPLACE "|" ";" _files "${EXPECT_FILES}")
  foreach(_file IN LISTS _files)
    if(NOT EXISTS "${_file}")
      message(FATAL_ERROR "expected file ${_file} was not written")
    endif()
  endforeach()
endif()
