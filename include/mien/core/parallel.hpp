// mien/core/parallel.hpp -- a fixed team of threads for splitting a batch.
//
// The threads are created once, by the constructor; run() hands each thread one contiguous
// slice of [0, count) and waits for all of them. Nothing is allocated per call (the work is a
// function pointer and a context pointer), and the slicing depends only on the thread count,
// so which thread handles which sample never depends on timing.
//
// A training step runs about a hundred of these calls (every layer, forward and backward), each
// a few tens of microseconds, so waking a sleeping thread through the condition variable is a
// visible share of the step. Both sides therefore spin briefly (spin_limit pauses, some tens of
// microseconds) on the atomic counters before they block: +6 % paper training images/s on the
// 2-core reference machine, and no loss when another program holds a core (the spin is
// bounded, unlike an OpenMP barrier's).
//
// Targets without threads (arm-none-eabi's newlib has no gthreads) get a team of one that runs
// everything on the calling thread: the header still compiles there, and MIEN_HAS_THREADS says
// which kind this build has.
#pragma once

#include <cstddef>

#include "team.hpp"

#if defined(__GLIBCXX__) ? defined(_GLIBCXX_HAS_GTHREADS) : (__STDC_HOSTED__ + 0)
#define MIEN_HAS_THREADS 1
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#else
#define MIEN_HAS_THREADS 0
#endif
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace mien {

namespace detail {
// One spin-wait step: tells the core this is a busy-wait loop (frees resources for the other
// hyper-thread, saves power) where the architecture has such an instruction.
inline void spin_pause() {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _mm_pause();
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
}  // namespace detail

#if MIEN_HAS_THREADS
class thread_team : public team_base {
public:
    explicit thread_team(std::size_t threads = 1) : team_base(&dispatch), size_(threads == 0 ? 1 : threads) {
        workers_.reserve(size_ - 1);
        for (std::size_t t = 1; t < size_; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    thread_team(thread_team const&) = delete;
    thread_team& operator=(thread_team const&) = delete;
    ~thread_team() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }

    std::size_t size() const { return size_; }

    // The slice of [0, count) that thread t of `threads` owns.
    static void slice(std::size_t count, std::size_t threads, std::size_t t, std::size_t& begin, std::size_t& end) {
        begin = count * t / threads;
        end = count * (t + 1) / threads;
    }

    // Calls fn(begin, end, thread) on every thread with its slice; returns when all are done.
    template <class F>
    void run(std::size_t count, F& fn) {
        if (size_ == 1 || count < 2) {
            fn(std::size_t{0}, count, std::size_t{0});
            return;
        }
        {
            std::lock_guard lock(mutex_);
            job_ = &call<F>;
            context_ = &fn;
            count_ = count;
            pending_.store(size_ - 1);
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        std::size_t b, e;
        slice(count, size_, 0, b, e);
        fn(b, e, std::size_t{0});
        for (int i = 0; i < spin_limit && pending_.load(std::memory_order_acquire) != 0; ++i) detail::spin_pause();
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return pending_.load() == 0; });
    }

private:
    struct erased {
        job_type job;
        void* context;
        void operator()(std::size_t b, std::size_t e, std::size_t t) const { job(context, b, e, t); }
    };
    static void dispatch(team_base* self, std::size_t count, job_type job, void* context) {
        erased e{job, context};
        static_cast<thread_team*>(self)->run(count, e);
    }

    void work(std::size_t t) {
        std::size_t seen = 0;
        for (;;) {
            void (*job)(void*, std::size_t, std::size_t, std::size_t);
            void* context;
            std::size_t count;
            for (int i = 0; i < spin_limit && generation_.load(std::memory_order_acquire) == seen; ++i) detail::spin_pause();
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load() != seen; });
                seen = generation_.load();
                if (stopping_) return;
                job = job_;
                context = context_;
                count = count_;
            }
            std::size_t b, e;
            slice(count, size_, t, b, e);
            job(context, b, e, t);
            {
                std::lock_guard lock(mutex_);
                --pending_;
            }
            done_.notify_one();
        }
    }

    std::size_t size_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    void (*job_)(void*, std::size_t, std::size_t, std::size_t) = nullptr;
    void* context_ = nullptr;
    static constexpr int spin_limit = 2000;  // pauses before blocking
    std::size_t count_ = 0;
    std::atomic<std::size_t> pending_{0}, generation_{0};  // written under mutex_, read by spinners too
    bool stopping_ = false;
};
#else
// No threads on this target: a team of one.
class thread_team : public team_base {
public:
    explicit thread_team(std::size_t = 1) : team_base(&dispatch) {}
    thread_team(thread_team const&) = delete;
    thread_team& operator=(thread_team const&) = delete;
    std::size_t size() const { return 1; }
    static void slice(std::size_t count, std::size_t, std::size_t, std::size_t& begin, std::size_t& end) {
        begin = 0;
        end = count;
    }
    template <class F>
    void run(std::size_t count, F& fn) {
        fn(std::size_t{0}, count, std::size_t{0});
    }

private:
    static void dispatch(team_base*, std::size_t count, job_type job, void* context) { job(context, 0, count, 0); }
};
#endif

}  // namespace mien
