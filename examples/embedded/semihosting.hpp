// examples/embedded/semihosting.hpp -- output and exit through ARM semihosting, no C library.
//
// A semihosting call is `bkpt 0xab` with the operation in r0 and its argument in r1; the
// debugger (here QEMU with -semihosting-config enable=on) performs it on the host. Writing
// through SYS_WRITE0 instead of printf keeps newlib's stdio, and with it malloc, out of the
// image. On a board without a debugger attached `bkpt` faults: replace these two functions
// with a UART driver there.
#pragma once

#include <cstdint>

namespace semihosting {

enum class operation : std::uint32_t {
    write0 = 0x04,         // write a NUL-terminated string to the debug console
    exit_extended = 0x20,  // stop, with a reason and an exit code (SYS_EXIT_EXTENDED)
};

inline std::uint32_t call(operation op, void const* argument) {
    std::uint32_t result;
    // The registers are loaded inside the asm (C++17 has no `register` variables to pin them).
    // "memory": the host reads the buffer r1 points to, so it must be written before the trap.
    asm volatile("mov r0, %1\n\tmov r1, %2\n\tbkpt 0xab\n\tmov %0, r0"
                 : "=r"(result)
                 : "r"(static_cast<std::uint32_t>(op)), "r"(argument)
                 : "r0", "r1", "memory");
    return result;
}

inline void write(char const* text) { call(operation::write0, text); }

[[noreturn]] inline void exit(int code) {
    // ADP_Stopped_ApplicationExit (0x20026) with the code: QEMU exits with that status.
    std::uint32_t const block[2] = {0x20026u, static_cast<std::uint32_t>(code)};
    call(operation::exit_extended, block);
    for (;;) {}  // not reached under a debugger that honours the call
}

}  // namespace semihosting
