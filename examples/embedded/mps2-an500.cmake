# examples/embedded/mps2-an500.cmake -- CMake toolchain file: Debian's arm-none-eabi-gcc for
# QEMU's mps2-an500 (a Cortex-M7 with the double-precision FPU, fpv5-d16).
#
#   cmake -S examples/embedded -B build-fw --toolchain examples/embedded/mps2-an500.cmake
#
# For another Cortex-M change MIEN_CPU_FLAGS, e.g. "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16
# -mfloat-abi=hard" or "-mcpu=cortex-m0plus -mthumb", and the linker script's memory map.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m7)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# There is no operating system to link a test program for: check the compiler with a library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(MIEN_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard" CACHE STRING "Target CPU flags")
# No exceptions or RTTI (no unwinder tables to store); each function and constant in its own
# section so that --gc-sections drops what main does not reach; no thread-safe statics (one
# thread, and the guards would call into the C library).
set(CMAKE_CXX_FLAGS_INIT "${MIEN_CPU_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${MIEN_CPU_FLAGS} -ffunction-sections -fdata-sections")
# Our own start-up (startup.cpp) instead of crt0; newlib-nano's libc and libm remain for
# memcpy, memset and expf, and anything that would need an OS (malloc's _sbrk, stdio) fails to
# link rather than silently arriving.
set(CMAKE_EXE_LINKER_FLAGS_INIT "${MIEN_CPU_FLAGS} -nostartfiles --specs=nano.specs -Wl,--gc-sections")

find_program(CMAKE_SIZE arm-none-eabi-size)
find_program(CMAKE_NM arm-none-eabi-nm)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
