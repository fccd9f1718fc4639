# The scalar path (MIEN_NO_SIMD) and this machine's SIMD path give the same probabilities:
# runs SCALAR into a file, then SIMD --compare on it.
execute_process(COMMAND ${SCALAR} OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SCALAR} failed (${rc})")
endif()
execute_process(COMMAND ${SIMD} --compare ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
string(REGEX MATCH "compared[^\n]*" summary "${out}")
message(STATUS "${summary}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scalar and SIMD predictions differ: ${summary}")
endif()
