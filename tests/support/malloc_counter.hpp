// tests/support/malloc_counter.hpp -- counts every heap allocation of the process, C and C++:
// malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign are replaced by versions
// that count and then call glibc's own (__libc_malloc ...). operator new ends in malloc, and
// OpenCV's cv::Mat buffers come from posix_memalign or malloc (cv::fastMalloc), so one counter
// sees both; tests/support/allocation_counter.hpp sees only operator new.
//
// Replacing malloc belongs to the whole program: include this header from exactly ONE source
// file of a program (mien_tests_opencv: tests/vision/test_no_allocation_vision.cpp). glibc only;
// under AddressSanitizer (which replaces malloc itself) it replaces nothing and
// MIEN_MALLOC_COUNTER is 0, so the tests that need it skip.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define MIEN_MALLOC_COUNTER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define MIEN_MALLOC_COUNTER 0
#endif
#endif
#if !defined(MIEN_MALLOC_COUNTER) && defined(__GLIBC__) && !defined(__SANITIZE_THREAD__)
#define MIEN_MALLOC_COUNTER 1
#endif
#ifndef MIEN_MALLOC_COUNTER
#define MIEN_MALLOC_COUNTER 0
#endif

namespace mien::testing {
inline std::atomic<std::size_t> mallocs_so_far{0};
// Heap allocations of the process so far (any thread); 0 forever when not counting.
inline std::size_t malloc_count() { return mallocs_so_far.load(std::memory_order_relaxed); }
}  // namespace mien::testing

#if MIEN_MALLOC_COUNTER
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    void* p = __libc_memalign(align, n);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
    mien::testing::mallocs_so_far.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(align, n);
}
}
#endif
