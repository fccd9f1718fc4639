// examples/embedded/startup.cpp -- reset to main() on a Cortex-M without a C library start-up.
//
// The vector table sits at 0x0 (the linker script's .vectors), where the core reads the
// initial stack pointer and the reset handler. The handler enables the FPU (on a core that has
// one: the Cortex-M7 and M4F here, not the M0+), copies .data from
// flash, zeroes .bss, paints the stack (so that stack_high_water() can report the deepest use),
// runs the static constructors, calls main and reports its status through semihosting.
// Everything here is ours rather than newlib's crt0 or rdimon's: rdimon's start-up neither
// enables the FPU nor copies .data, and it brings stdio and malloc with it.
#include <cstddef>
#include <cstdint>

#include "clock.hpp"
#include "semihosting.hpp"

extern "C" {
// Defined by mps2_an500.ld.
extern std::uint32_t __data_load[], __data_start[], __data_end[];
extern std::uint32_t __bss_start[], __bss_end[];
extern std::uint32_t __stack_bottom[], __stack_top[];
extern void (*__preinit_array_start[])(), (*__preinit_array_end[])();
extern void (*__init_array_start[])(), (*__init_array_end[])();

// main itself: C++ forbids calling ::main, so the start-up calls it under another name.
int application_main() asm("main");
[[noreturn]] void reset_handler();
void fault_handler();
void systick_handler();
}

namespace {

// Fills the unused stack with this word; the deepest word no longer equal to it is the
// high-water mark.
constexpr std::uint32_t stack_paint = 0x5ac5ac5au;

using handler = void (*)();

// Cortex-M exception numbers 0-15: the initial stack pointer, then the system handlers. No
// device interrupt is used, so the table stops before IRQ 0.
[[gnu::section(".vectors"), gnu::used]] handler const vector_table[16] = {
    reinterpret_cast<handler>(__stack_top),
    reset_handler,
    fault_handler,  // NMI
    fault_handler,  // HardFault
    fault_handler,  // MemManage
    fault_handler,  // BusFault
    fault_handler,  // UsageFault
    nullptr, nullptr, nullptr, nullptr,
    fault_handler,  // SVCall
    fault_handler,  // DebugMonitor
    nullptr,
    fault_handler,  // PendSV
    systick_handler,
};

inline std::uint32_t* stack_pointer() {
    std::uint32_t* sp;
    asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

}  // namespace

extern "C" [[noreturn]] void reset_handler() {
    // CPACR: full access to coprocessors 10 and 11 (the FPU). Until this is done any
    // floating-point instruction is a UsageFault; the barriers make it take effect before the
    // next instruction (ARMv7-M ARM, B3.2.20).
#if defined(__ARM_FP)  // a core without an FPU (Cortex-M0+, soft float) has no CPACR to set
    *reinterpret_cast<std::uint32_t volatile*>(0xE000ED88u) |= 0xFu << 20;
    asm volatile("dsb\n\tisb" ::: "memory");
#endif

    // volatile: keep GCC from turning these loops into calls of memcpy / memset, which are
    // allowed to assume the C library is initialised.
    std::uint32_t volatile* to = __data_start;
    for (std::uint32_t const* from = __data_load; to < __data_end;) *to++ = *from++;
    for (std::uint32_t volatile* p = __bss_start; p < __bss_end;) *p++ = 0;
    std::uint32_t* const limit = stack_pointer() - 16;  // leave this frame alone
    for (std::uint32_t volatile* p = __stack_bottom; p < limit;) *p++ = stack_paint;

    for (auto f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
    for (auto f = __init_array_start; f < __init_array_end; ++f) (*f)();
    semihosting::exit(application_main());
}

std::size_t embedded::stack_high_water() {
    std::uint32_t const* p = __stack_bottom;
    while (p < __stack_top && *p == stack_paint) ++p;
    return std::size_t(reinterpret_cast<std::uintptr_t>(__stack_top) - reinterpret_cast<std::uintptr_t>(p));
}

std::size_t embedded::stack_size() {
    return std::size_t(reinterpret_cast<std::uintptr_t>(__stack_top) - reinterpret_cast<std::uintptr_t>(__stack_bottom));
}

// Any fault or unexpected exception: say so and stop with status 3, rather than hang the test.
extern "C" void fault_handler() {
    std::uint32_t ipsr;
    asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    char text[] = "fault: exception 00\n";
    text[17] = char('0' + (ipsr & 0x1ffu) / 10 % 10);
    text[18] = char('0' + (ipsr & 0x1ffu) % 10);
    semihosting::write(text);
    semihosting::exit(3);
}

extern "C" void systick_handler() { embedded::systick_wrapped(); }
