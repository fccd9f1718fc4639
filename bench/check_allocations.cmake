# Runs mien-bench (BENCH) with ARGS plus --iterations 10, then 50, and fails unless the
# "allocations" fields of the JSON objects on the last lines are equal.
#   cmake -DBENCH=path/to/mien-bench "-DARGS=--model;fast;--json" -P check_allocations.cmake
if(NOT BENCH)
  message(FATAL_ERROR "check_allocations: set -DBENCH=<path to mien-bench>")
endif()

function(allocations_of iterations out)
  execute_process(COMMAND ${BENCH} ${ARGS} --iterations ${iterations}
    OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_allocations: mien-bench --iterations ${iterations} exited with ${rc}:\n${text}")
  endif()
  string(STRIP "${text}" text)
  string(REGEX REPLACE "^.*\n" "" last "${text}")  # the last line
  string(JSON count ERROR_VARIABLE err GET "${last}" allocations)
  if(err)
    message(FATAL_ERROR "check_allocations: the last line is not a JSON object with \"allocations\" (${err}):\n${last}")
  endif()
  message(STATUS "--iterations ${iterations}: ${count} allocations")
  set(${out} ${count} PARENT_SCOPE)
endfunction()

allocations_of(10 small)
allocations_of(50 large)
if(NOT small EQUAL large)
  message(FATAL_ERROR "check_allocations: ${small} heap allocations with --iterations 10, ${large} with 50: "
                      "something allocates per call")
endif()
