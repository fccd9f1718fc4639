// mien/train/interrupt.hpp: Ctrl-C (SIGINT) sets the flag train_epoch checks instead of ending
// the process.
#include <mien/train/interrupt.hpp>

#include <doctest/doctest.h>

#include <csignal>

TEST_CASE("interrupt: SIGINT sets stop_requested() once stop_on_interrupt() is called") {
    mien::stop_requested() = false;
    mien::stop_on_interrupt();
    CHECK_FALSE(mien::stop_requested());
    CHECK(std::raise(SIGINT) == 0);  // without the handler this would end the test program
    CHECK(mien::stop_requested());
    std::signal(SIGINT, SIG_DFL);
    mien::stop_requested() = false;
}
