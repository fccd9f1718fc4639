# tests/embedded/firmware.cmake -- one step of a firmware test (see CMakeLists.txt here).
#
#   cmake -DSTEP=host|build|qemu|memory_report|no_heap -DMODEL=fast|paper [-DBUILD_TYPE=Release]
#         [-DCORE=m7|m4|m0plus] [-DFACES_PER_CLASS=2] -DMIEN_ROOT=<src> -DWORK_DIR=<dir>
#         -DHOST_DIR=<dir> -DMIEN_EMBED=<host mien-embed> -DMIEN_FACES=<host mien-faces or "">
#         -DDATA_DIR=<data> -DGENERATOR=<g> -DHOST_CXX=<c++> [-DLAUNCHER=ccache] -P firmware.cmake
#
# host           configures and builds examples/embedded with the host compiler in HOST_DIR:
#                host-reference-<model> (xsimd kernels) and host-reference-<model>-scalar
#                (MIEN_NO_SIMD)
# build          configures and builds examples/embedded with its toolchain file in
#                WORK_DIR/firmware: firmware-<model>.elf at BUILD_TYPE, which prints its memory
#                report
# qemu           runs the firmware under qemu-system-arm with -icount shift=0 (one instruction
#                per nanosecond of virtual time); the firmware, the host and the scalar host
#                must agree pairwise on every predicted class and on every probability within
#                1e-5; prints the instructions of one prediction and the latency they suggest
#                at 480 MHz
# memory_report  the compile-time budget against arm-none-eabi-size -A, within 5 %
# no_heap        arm-none-eabi-nm finds no allocator (malloc, _sbrk, operator new...) in the ELF
#
# CORE m7 (the default) builds for the Cortex-M7 of QEMU's mps2-an500, m4 for the Cortex-M4F of
# mps2-an386 (single-precision FPU), m0plus for a Cortex-M0+ (ARMv6-M, soft float), run on
# mps2-an385's Cortex-M3 (QEMU has no Cortex-M0+ machine with this much RAM; the M3 executes
# ARMv6-M code as it is). All three machines have the memory map of mps2_an500.ld.
#
# A missing ARM toolchain, qemu-system-arm, mien-faces (built only with OpenCV) or FER2013 val
# folder prints "SKIPPED: <what>" and ends the step successfully (SKIP_REGULAR_EXPRESSION).
cmake_minimum_required(VERSION 3.21)
foreach(_var STEP MODEL MIEN_ROOT WORK_DIR HOST_DIR MIEN_EMBED DATA_DIR GENERATOR HOST_CXX)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "firmware.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(DEFINED ENV{MIEN_DATA})
  set(DATA_DIR "$ENV{MIEN_DATA}")
endif()
if(NOT CORE OR CORE STREQUAL "m7")
  set(_machine mps2-an500)
  set(_cpu_flags "")  # the toolchain file's default
elseif(CORE STREQUAL "m4")
  set(_machine mps2-an386)
  set(_cpu_flags "-DMIEN_CPU_FLAGS=-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(CORE STREQUAL "m0plus")
  set(_machine mps2-an385)
  set(_cpu_flags "-DMIEN_CPU_FLAGS=-mcpu=cortex-m0plus -mthumb")
else()
  message(FATAL_ERROR "firmware.cmake: CORE must be m7, m4 or m0plus (found '${CORE}')")
endif()

find_program(ARM_CXX arm-none-eabi-g++)
find_program(ARM_SIZE arm-none-eabi-size)
find_program(ARM_NM arm-none-eabi-nm)
find_program(QEMU qemu-system-arm)
set(_missing "")
if(NOT ARM_CXX OR NOT ARM_SIZE OR NOT ARM_NM)
  set(_missing "the ARM toolchain (arm-none-eabi-g++, -size, -nm: Debian gcc-arm-none-eabi)")
elseif(NOT MIEN_FACES)
  set(_missing "mien-faces (built only when OpenCV is found)")
elseif(NOT IS_DIRECTORY "${DATA_DIR}/fer2013/val")
  set(_missing "${DATA_DIR}/fer2013/val (FER2013's val split; set MIEN_DATA)")
elseif(STEP STREQUAL "qemu" AND NOT QEMU)
  set(_missing "qemu-system-arm (Debian qemu-system-arm)")
endif()
if(_missing)
  message("SKIPPED: ${_missing} not found")
  return()
endif()

set(_elf ${WORK_DIR}/firmware/firmware-${MODEL}.elf)
set(_host ${HOST_DIR}/host-reference-${MODEL})
function(run)
  message(STATUS "> ${ARGN}")
  execute_process(COMMAND ${ARGN} COMMAND_ERROR_IS_FATAL ANY)
endfunction()

if(STEP STREQUAL "build" OR STEP STREQUAL "host")
  if(NOT FACES_PER_CLASS)
    set(FACES_PER_CLASS 2)
  endif()
  set(_source ${MIEN_ROOT}/examples/embedded)
  set(_common -G ${GENERATOR} -DMODEL=${MODEL} -DFACES_PER_CLASS=${FACES_PER_CLASS} -DMIEN_ROOT=${MIEN_ROOT}
              -DMIEN_EMBED=${MIEN_EMBED} -DMIEN_FACES=${MIEN_FACES} -DMIEN_DATA=${DATA_DIR})
  if(LAUNCHER)
    list(APPEND _common -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
  endif()
  if(STEP STREQUAL "build")
    if(NOT BUILD_TYPE)
      set(BUILD_TYPE Release)
    endif()
    run(${CMAKE_COMMAND} -S ${_source} -B ${WORK_DIR}/firmware ${_common}
        --toolchain ${_source}/mps2-an500.cmake -DCMAKE_BUILD_TYPE=${BUILD_TYPE} ${_cpu_flags})
    run(${CMAKE_COMMAND} --build ${WORK_DIR}/firmware)
  else()
    run(${CMAKE_COMMAND} -S ${_source} -B ${HOST_DIR} ${_common} -DCMAKE_CXX_COMPILER=${HOST_CXX}
        -DCMAKE_BUILD_TYPE=Release)
    run(${CMAKE_COMMAND} --build ${HOST_DIR})
  endif()
  return()
endif()

if(NOT EXISTS ${_elf})
  message(FATAL_ERROR "${_elf} is missing: run the test embedded.build.<variant> first")
endif()
if(STEP STREQUAL "qemu" AND NOT EXISTS ${_host})
  message(FATAL_ERROR "${_host} is missing: run the test embedded.host.<model>_<faces per class> first")
endif()

if(STEP STREQUAL "qemu")
  set(_output ${WORK_DIR}/qemu-output.txt)
  message(STATUS "> ${QEMU} -M ${_machine} -nographic -semihosting-config enable=on,target=native -icount shift=0 -kernel ${_elf}")
  execute_process(COMMAND ${QEMU} -M ${_machine} -nographic -semihosting-config enable=on,target=native
                          -icount shift=0 -kernel ${_elf}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err TIMEOUT 500)
  # QEMU 7.2 writes semihosting output to its stderr (no chardev is given): keep both.
  file(WRITE ${_output} "${_out}${_err}")
  message("${_out}${_err}")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the firmware under QEMU exited with status ${_rc}")
  endif()
  # Three builds, compared pairwise: the target, the host's xsimd kernels, the host's scalar ones.
  set(_weights --weights ${MIEN_ROOT}/models/${MODEL}.mien)
  execute_process(COMMAND ${_host}-scalar ${_weights} OUTPUT_FILE ${WORK_DIR}/host-scalar-output.txt
                  COMMAND_ERROR_IS_FATAL ANY)
  run(${_host} ${_weights} --compare ${_output})
  run(${_host}-scalar ${_weights} --compare ${_output})
  run(${_host} ${_weights} --compare ${WORK_DIR}/host-scalar-output.txt)

  # Instructions per prediction: SysTick counts the 25 MHz clock of virtual time, and with
  # -icount shift=0 each instruction takes 1 ns, so one tick is 40 instructions. The firmware
  # first times a loop of a known instruction count: the conversion must hold to 0.1 %.
  if(NOT "${_out}${_err}" MATCHES "calibration ([0-9]+) instructions ticks ([0-9]+)")
    message(FATAL_ERROR "the firmware printed no calibration line")
  endif()
  set(_expected ${CMAKE_MATCH_1})
  math(EXPR _counted "${CMAKE_MATCH_2} * 40")
  math(EXPR _error "${_counted} - ${_expected}")
  math(EXPR _limit "${_expected} / 1000")
  if(_error GREATER _limit OR _error LESS -${_limit})
    message(FATAL_ERROR "instruction counting is off: a loop of ${_expected} instructions counted ${_counted}")
  endif()
  message("calibration: a loop of ${_expected} instructions counted ${_counted} (SysTick ticks x 40)")
  string(REGEX MATCHALL "cost [0-9]+ ticks [0-9]+" _costs "${_out}${_err}")
  list(LENGTH _costs _n)
  if(_n EQUAL 0)
    message(FATAL_ERROR "the firmware printed no cost lines")
  endif()
  set(_sum 0)
  set(_min "")
  set(_max 0)
  foreach(_cost ${_costs})
    string(REGEX REPLACE ".* ticks " "" _ticks "${_cost}")
    math(EXPR _insns "${_ticks} * 40")
    math(EXPR _sum "${_sum} + ${_insns}")
    if(_min STREQUAL "" OR _insns LESS _min)
      set(_min ${_insns})
    endif()
    if(_insns GREATER _max)
      set(_max ${_insns})
    endif()
  endforeach()
  math(EXPR _mean "${_sum} / ${_n}")
  math(EXPR _us "${_mean} / 480")  # at 480 MHz and one instruction per cycle: instructions / 480 = microseconds
  math(EXPR _ms "${_us} / 1000")
  math(EXPR _ms_frac "(${_us} % 1000) / 10")
  if(_ms_frac LESS 10)
    set(_ms_frac "0${_ms_frac}")
  endif()
  message("instructions per prediction (${MODEL}, ${CORE}, ${BUILD_TYPE}, ${_n} faces): mean ${_mean}, min ${_min}, max ${_max}; "
          "at 480 MHz and 1 instruction per cycle: ${_ms}.${_ms_frac} ms")
  return()
endif()

if(STEP STREQUAL "memory_report")
  run(${CMAKE_COMMAND} -DELF=${_elf} -DSIZE=${ARM_SIZE} -DNM=${ARM_NM} -DCHECK=ON
      -P ${MIEN_ROOT}/examples/embedded/memory_report.cmake)
  return()
endif()

if(STEP STREQUAL "no_heap")
  execute_process(COMMAND ${ARM_NM} ${_elf} OUTPUT_VARIABLE _symbols COMMAND_ERROR_IS_FATAL ANY)
  # The check only means something on the real firmware: its main and its weights must be there.
  foreach(_needed " T main\n" "${MODEL}_weights10parametersE\n")
    string(FIND "${_symbols}" "${_needed}" _at)
    if(_at EQUAL -1)
      message(FATAL_ERROR "${_elf} has no symbol matching '${_needed}': not the firmware this test expects")
    endif()
  endforeach()
  # malloc and friends (and their reentrant _r forms), newlib's heap (_sbrk), operator new and
  # delete in their mangled forms (_Znwj, _Znaj, _ZdlPv...).
  string(REGEX MATCHALL "[ 0-9a-f]+ [A-Za-z] (_?(malloc|calloc|realloc|free|sbrk)(_r)?|_Zn[wa][jm][A-Za-z_0-9]*|_Zd[la]Pv[A-Za-z_0-9]*)\n"
         _heap "${_symbols}")
  if(_heap)
    message(FATAL_ERROR "${_elf} links an allocator:\n${_heap}")
  endif()
  string(REGEX MATCHALL "\n" _lines "${_symbols}")
  list(LENGTH _lines _count)
  message("no heap: none of malloc, calloc, realloc, free, _sbrk (or their _r forms), operator new or delete "
          "among the ${_count} symbols of ${_elf}")
  return()
endif()

message(FATAL_ERROR "firmware.cmake: unknown STEP '${STEP}'")
