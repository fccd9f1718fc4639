# Configures, builds and tests mien (or tests/fuzz) a second time with another compiler or
# sanitizers: the `ci.*` tests of tests/CMakeLists.txt run it, so that the README's one test
# command also proves clang, ASan + UBSan, TSan and the fuzz targets (docs/RELIABILITY.md).
#
#   cmake -DSOURCE=dir -DBINARY=dir -DCOMPILER=clang++-14 [-DGENERATOR=g] [-DLAUNCHER=ccache]
#         [-DOPTIONS=-Dx=y~-Dz=w] [-DTARGETS=a~b] [-DCTEST_ARGS=-L~unit] -P subbuild.cmake
#
# Lists are separated by '~' (';' and '|' are taken by CMake lists and ctest regexes). When
# COMPILER is not installed the test prints "mien-ci-skipped: ..." (the test's SKIP_REGULAR_EXPRESSION).
cmake_minimum_required(VERSION 3.21)

find_program(_compiler NAMES ${COMPILER})
if(NOT _compiler)
  message(STATUS "mien-ci-skipped: ${COMPILER} not found (Debian: apt-get install clang-14 libclang-rt-14-dev)")
  return()
endif()

foreach(_list OPTIONS TARGETS CTEST_ARGS)
  string(REPLACE "~" ";" ${_list} "${${_list}}")
endforeach()

# Runs one step; on failure names it and stops with the step's exit status.
function(step what)
  string(TIMESTAMP _start "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  string(TIMESTAMP _end "%s")
  math(EXPR _seconds "${_end} - ${_start}")
  message(STATUS "${what}: exit status ${_rc}, ${_seconds} s")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit status ${_rc})")
  endif()
endfunction()

set(_configure ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -DCMAKE_CXX_COMPILER=${_compiler} -DMIEN_CI_SUBBUILDS=OFF ${OPTIONS})
if(GENERATOR)
  list(APPEND _configure -G ${GENERATOR})
endif()
if(LAUNCHER)
  list(APPEND _configure -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step("configure" ${_configure})

set(_build ${CMAKE_COMMAND} --build ${BINARY} -j2)
if(TARGETS)
  list(APPEND _build --target ${TARGETS})
endif()
step("build" ${_build})

step("ctest" ${CMAKE_CTEST_COMMAND} --test-dir ${BINARY} --output-on-failure -j2 ${CTEST_ARGS})
