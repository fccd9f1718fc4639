// thread_team: fixed contiguous slices that cover the range once, on every thread.
#include <mien/core/parallel.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <vector>

TEST_CASE("parallel: slices are contiguous, in thread order, and cover 0..count-1 exactly once") {
    for (std::size_t const threads : {1, 2, 3, 5})
        for (std::size_t const count : {0, 1, 2, 7, 32, 33}) {
            std::size_t expected_begin = 0;
            for (std::size_t t = 0; t < threads; ++t) {
                std::size_t b = 0, e = 0;
                mien::thread_team::slice(count, threads, t, b, e);
                CHECK(b == expected_begin);
                CHECK(e >= b);
                CHECK(e - b <= count / threads + 1);  // balanced
                expected_begin = e;
            }
            CHECK(expected_begin == count);
        }
}

TEST_CASE("parallel: run calls every thread with its slice and waits for all") {
    mien::thread_team team(3);
    CHECK(team.size() == 3);
    std::vector<int> owner(100, -1);
    std::atomic<int> calls{0};
    for (int round = 0; round < 50; ++round) {  // the team is reused: no thread is lost
        calls = 0;
        auto work = [&](std::size_t b, std::size_t e, std::size_t t) {
            for (std::size_t i = b; i < e; ++i) owner[i] = int(t);
            ++calls;
        };
        team.run(100, work);
        CHECK(calls == 3);
    }
    for (std::size_t i = 0; i < 100; ++i) {
        std::size_t b = 0, e = 0;
        mien::thread_team::slice(100, 3, std::size_t(owner[i]), b, e);
        CHECK((b <= i && i < e));
    }
}
