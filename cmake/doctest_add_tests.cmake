# Stands in for doctest's doctestAddTests.cmake, the script doctest_discover_tests() runs after
# each build of a test executable to write one add_test() per TEST_CASE (tests/CMakeLists.txt
# points _DOCTEST_DISCOVER_TESTS_SCRIPT here).
#
# Why: doctest 2.4's script walks the list of names as a CMake list, and CMake lists treat '['
# and ']' as nesting, so one name with an unbalanced bracket ("a label outside [0, K) is
# rejected") swallows the names after it, the generated add_test() is malformed and ctest runs
# nothing at all. This one reads the output line by line and quotes every name as a bracket
# argument. Same inputs as upstream: TEST_EXECUTABLE, TEST_EXECUTOR, TEST_WORKING_DIR,
# TEST_SPEC, TEST_EXTRA_ARGS, TEST_PROPERTIES, TEST_PREFIX, TEST_SUFFIX, TEST_LIST, CTEST_FILE
# (TEST_ADD_LABELS and TEST_JUNIT_OUTPUT_DIR are not supported).

cmake_minimum_required(VERSION 3.21)  # policies NEW (CMP0054: quoted strings are not variable names)

if(NOT EXISTS "${TEST_EXECUTABLE}")
  message(FATAL_ERROR "doctest_add_tests: test executable '${TEST_EXECUTABLE}' does not exist")
endif()

set(_spec)
if(NOT "${TEST_SPEC}" STREQUAL "")
  set(_spec "--test-case=${TEST_SPEC}")
endif()
execute_process(
  COMMAND ${TEST_EXECUTOR} "${TEST_EXECUTABLE}" ${_spec} --list-test-cases
  OUTPUT_VARIABLE _output
  RESULT_VARIABLE _result
  WORKING_DIRECTORY "${TEST_WORKING_DIR}")
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "doctest_add_tests: '${TEST_EXECUTABLE} --list-test-cases' failed (${_result}):\n${_output}")
endif()

# The arguments every test shares, each quoted as a bracket argument.
set(_command "")
foreach(_arg IN LISTS TEST_EXECUTOR)
  string(APPEND _command " [==[${_arg}]==]")
endforeach()
string(APPEND _command " [==[${TEST_EXECUTABLE}]==]")
set(_extra "")
foreach(_arg IN LISTS TEST_EXTRA_ARGS)
  string(APPEND _extra " [==[${_arg}]==]")
endforeach()
set(_properties " WORKING_DIRECTORY [==[${TEST_WORKING_DIR}]==]")
foreach(_arg IN LISTS TEST_PROPERTIES)
  string(APPEND _properties " [==[${_arg}]==]")
endforeach()

set(_script "")
set(_names "")
set(_rest "${_output}")
while(NOT "${_rest}" STREQUAL "")
  string(FIND "${_rest}" "\n" _end)
  if(_end EQUAL -1)
    set(_line "${_rest}")
    set(_rest "")
  else()
    string(SUBSTRING "${_rest}" 0 ${_end} _line)
    math(EXPR _end "${_end} + 1")
    string(SUBSTRING "${_rest}" ${_end} -1 _rest)
  endif()
  string(REGEX REPLACE "\r$" "" _line "${_line}")
  if("${_line}" STREQUAL "" OR "${_line}" MATCHES "^===+$" OR "${_line}" MATCHES "^\\[doctest\\] ")
    continue()
  endif()
  set(_name "${TEST_PREFIX}${_line}${TEST_SUFFIX}")
  string(REPLACE "," "\\," _filter "${_line}")  # doctest separates filters with commas
  string(APPEND _script "add_test([==[${_name}]==]${_command} [==[--test-case=${_filter}]==]${_extra})\n")
  string(APPEND _script "set_tests_properties([==[${_name}]==] PROPERTIES${_properties})\n")
  string(APPEND _names " [==[${_name}]==]")
endwhile()
string(APPEND _script "set(${TEST_LIST}${_names})\n")

file(WRITE "${CTEST_FILE}" "${_script}")
