// tests/support/allocation_counter.hpp -- replaces the global operator new and delete, every
// form (plain, array, aligned, nothrow, sized), with versions that count allocations.
//
// Replacement allocation functions belong to the whole program and may not be inline: include
// this header from exactly ONE source file of a program (mien_tests: tests/core/test_no_allocation.cpp).
// Then mien::testing::allocation_count() is the number of allocations so far, from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace mien::testing {

inline std::atomic<std::size_t> allocations_so_far{0};

inline std::size_t allocation_count() { return allocations_so_far.load(std::memory_order_relaxed); }

namespace detail {
inline void* counted_alloc(std::size_t size, std::size_t align) noexcept {
    allocations_so_far.fetch_add(1, std::memory_order_relaxed);
    if (size == 0) size = 1;
    void* p = nullptr;
    if (align <= alignof(std::max_align_t)) p = std::malloc(size);
    else if (posix_memalign(&p, align, size) != 0) p = nullptr;
    return p;
}
// Out of line, so that g++ does not see free() applied to what operator new returned.
[[gnu::noinline]] inline void counted_free(void* p) noexcept { std::free(p); }
inline void* counted_or_throw(std::size_t size, std::size_t align) {
    if (void* p = counted_alloc(size, align)) return p;
    throw std::bad_alloc();
}
}  // namespace detail

}  // namespace mien::testing

void* operator new(std::size_t n) { return mien::testing::detail::counted_or_throw(n, 0); }
void* operator new[](std::size_t n) { return mien::testing::detail::counted_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return mien::testing::detail::counted_or_throw(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return mien::testing::detail::counted_or_throw(n, std::size_t(a)); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return mien::testing::detail::counted_alloc(n, 0); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return mien::testing::detail::counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return mien::testing::detail::counted_alloc(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return mien::testing::detail::counted_alloc(n, std::size_t(a));
}
void operator delete(void* p) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p) noexcept { mien::testing::detail::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { mien::testing::detail::counted_free(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { mien::testing::detail::counted_free(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { mien::testing::detail::counted_free(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { mien::testing::detail::counted_free(p); }
