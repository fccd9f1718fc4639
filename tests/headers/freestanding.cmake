# Issue 10, item 1: every header under core/, layers/, blocks/ and models/ compiles with
# arm-none-eabi-g++ for CPU (flags in CPU_FLAGS), -Os -fno-exceptions -fno-rtti, warning-free;
# freestanding.cpp (both presets predicting through network_view) compiles to an object that
# references no heap function (malloc, free, operator new/delete, _sbrk).
# Prints "SKIPPED:" (CTest: SKIP_REGULAR_EXPRESSION) when the ARM toolchain is not installed
# (cmake -P cannot choose its exit code before CMake 3.29).
find_program(ARM_CXX arm-none-eabi-g++)
find_program(ARM_NM arm-none-eabi-nm)
if(NOT ARM_CXX OR NOT ARM_NM)
  message("SKIPPED: arm-none-eabi-g++ not found (Debian: gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib libnewlib-arm-none-eabi)")
  return()
endif()
separate_arguments(cpu UNIX_COMMAND "${CPU_FLAGS}")
set(flags -std=c++20 ${cpu} -Os -fno-exceptions -fno-rtti -Wall -Wextra -Wpedantic -Werror -I${MIEN_ROOT}/include)
file(MAKE_DIRECTORY ${WORK_DIR})

if(EACH_HEADER)
  file(GLOB_RECURSE headers RELATIVE ${MIEN_ROOT}/include
    ${MIEN_ROOT}/include/mien/core/*.hpp ${MIEN_ROOT}/include/mien/layers/*.hpp
    ${MIEN_ROOT}/include/mien/blocks/*.hpp ${MIEN_ROOT}/include/mien/models/*.hpp)
  list(LENGTH headers count)
  foreach(h IN LISTS headers)
    string(MAKE_C_IDENTIFIER ${h} id)
    file(WRITE ${WORK_DIR}/${id}.cpp "#include <${h}>\n")
    execute_process(COMMAND ${ARM_CXX} ${flags} -fsyntax-only ${WORK_DIR}/${id}.cpp
      RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "<${h}> does not compile for ${CPU_FLAGS}:\n${err}")
    endif()
  endforeach()
  message(STATUS "${count} headers compile on their own for ${CPU_FLAGS}")
endif()

execute_process(COMMAND ${ARM_CXX} ${flags} -c ${MIEN_ROOT}/tests/headers/freestanding.cpp -o ${WORK_DIR}/freestanding.o
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "freestanding.cpp does not compile for ${CPU_FLAGS}:\n${err}")
endif()
execute_process(COMMAND ${ARM_NM} -u -C ${WORK_DIR}/freestanding.o OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "arm-none-eabi-nm failed on freestanding.o")
endif()
string(REGEX MATCHALL "[^\n]*(malloc|calloc|realloc|free|_sbrk|operator new|operator delete)[^\n]*" heap "${undefined}")
if(heap)
  message(FATAL_ERROR "prediction references the heap for ${CPU_FLAGS}:\n${heap}")
endif()
string(REPLACE "\n" " " undefined_line "${undefined}")
message(STATUS "prediction for ${CPU_FLAGS} compiles; its only external references: ${undefined_line}")
