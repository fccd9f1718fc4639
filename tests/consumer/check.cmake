# Builds and runs a consumer project (tests/consumer/<MODE>) against this source tree.
#   cmake -DMODE=add_subdirectory|find_package -DMIEN_ROOT=<src> -DWORK_DIR=<scratch>
#         -DGENERATOR=<generator> -DCXX=<compiler> -P check.cmake
# find_package first installs mien with `cmake --install` into WORK_DIR/prefix.
cmake_minimum_required(VERSION 3.21)

foreach(_var MODE MIEN_ROOT WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check.cmake: -D${_var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
set(_common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)

function(run)
  message(STATUS "> ${ARGN}")
  execute_process(COMMAND ${ARGN} COMMAND_ERROR_IS_FATAL ANY)
endfunction()

set(_options -DMIEN_ROOT=${MIEN_ROOT})
if(MODE STREQUAL "find_package")
  set(_prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${MIEN_ROOT} -B ${WORK_DIR}/mien-build ${_common}
      -DMIEN_BUILD_TESTS=OFF -DMIEN_BUILD_EXAMPLES=OFF -DMIEN_BUILD_BENCH=OFF)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/mien-build --prefix ${_prefix})
  set(_options -DCMAKE_PREFIX_PATH=${_prefix} -DEXPECTED_PREFIX=${_prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(NOT MODE STREQUAL "add_subdirectory")
  message(FATAL_ERROR "check.cmake: unknown MODE ${MODE}")
endif()

run(${CMAKE_COMMAND} -S ${MIEN_ROOT}/tests/consumer/${MODE} -B ${WORK_DIR}/build ${_common} ${_options})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
