// examples/embedded/clock.hpp -- a 64-bit tick count from SysTick, and the stack's high water.
//
// SysTick is the one timer every Cortex-M has. It counts the processor clock (CLKSOURCE = 1)
// down from a 24-bit reload value; the exception handler counts the wraps, so that ticks()
// spans any run. On a board the tick is one core cycle. Under QEMU's mps2-an500 the processor
// clock is the 25 MHz SYSCLK of virtual time, and with `-icount shift=0` one instruction is one
// nanosecond of virtual time: one tick is then 40 instructions (instructions_per_tick).
#pragma once

#include <cstddef>
#include <cstdint>

namespace embedded {

inline constexpr std::uint32_t systick_reload = 0x00FF'FFFFu;  // the largest: fewest interrupts
inline constexpr std::uint64_t qemu_clock_hz = 25'000'000;     // mps2 SYSCLK
inline constexpr std::uint64_t instructions_per_tick = 1'000'000'000 / qemu_clock_hz;  // icount shift 0

namespace detail {
inline std::uint32_t volatile& systick_register(std::uintptr_t address) {
    return *reinterpret_cast<std::uint32_t volatile*>(address);
}
inline std::uint32_t volatile& syst_csr() { return systick_register(0xE000E010u); }
inline std::uint32_t volatile& syst_rvr() { return systick_register(0xE000E014u); }
inline std::uint32_t volatile& syst_cvr() { return systick_register(0xE000E018u); }
inline std::uint32_t volatile wraps = 0;  // written by the SysTick exception only
}  // namespace detail

// Called by the SysTick exception (startup.cpp).
inline void systick_wrapped() { detail::wraps = detail::wraps + 1; }

inline void start_ticks() {
    detail::syst_rvr() = systick_reload;
    detail::syst_cvr() = 0;       // any write clears the counter
    detail::syst_csr() = 0b111;   // processor clock, exception on wrap, enabled
    // The cleared counter loads the reload value on the next tick (without an exception);
    // before that it reads 0, which ticks() would take for a full period.
    while (detail::syst_cvr() == 0) {}
}

// Ticks since start_ticks(). The wrap count is read on both sides of the counter: if a wrap
// happened in between, the counter is read again, so a wrap is never counted half.
inline std::uint64_t ticks() {
    for (;;) {
        std::uint32_t const before = detail::wraps;
        std::uint32_t const value = detail::syst_cvr();
        if (detail::wraps == before)
            return std::uint64_t(before) * (std::uint64_t(systick_reload) + 1) + (systick_reload - value);
    }
}

// Bytes of the stack used so far (its deepest point), and its size (startup.cpp).
std::size_t stack_high_water();
std::size_t stack_size();

}  // namespace embedded
