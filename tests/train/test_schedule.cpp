// Learning-rate schedules: their end points, shapes and names.
#include <mien/train/schedule.hpp>

#include <doctest/doctest.h>

using namespace mien;

TEST_CASE("one_cycle_rate: from max/25 up to max at 30 %, down to max/25/1e4") {
    std::size_t const total = 1001;
    CHECK(one_cycle_rate(0, total, 0.01) == doctest::Approx(0.01 / 25));
    CHECK(one_cycle_rate(300, total, 0.01) == doctest::Approx(0.01));
    CHECK(one_cycle_rate(1000, total, 0.01) == doctest::Approx(0.01 / 25 / 1e4));
}

TEST_CASE("cosine_rate: linear warm-up over 2 %, then cosine annealing to zero") {
    std::size_t const total = 1001;  // t = step / 1000
    double const peak = 0.05;
    CHECK(cosine_rate(0, total, peak) == doctest::Approx(peak / 25));
    CHECK(cosine_rate(10, total, peak) == doctest::Approx(peak / 25 + (peak - peak / 25) * 0.5));  // halfway up, linearly
    CHECK(cosine_rate(20, total, peak) == doctest::Approx(peak));
    CHECK(cosine_rate(510, total, peak) == doctest::Approx(peak / 2));  // halfway down the cosine
    CHECK(cosine_rate(1000, total, peak) == doctest::Approx(0.0));
    double previous = cosine_rate(20, total, peak);
    bool decreasing = true;
    for (std::size_t s = 21; s < total; ++s) {
        double const r = cosine_rate(s, total, peak);
        decreasing = decreasing && r <= previous;
        previous = r;
    }
    CHECK(decreasing);
    CHECK(cosine_rate(0, 1, peak) == peak);  // a one-step run trains at the peak
}

TEST_CASE("learning_rate and parse_lr_schedule: the names mien-train takes") {
    lr_schedule s = lr_schedule::constant;
    REQUIRE(parse_lr_schedule("cosine", s));
    CHECK(s == lr_schedule::cosine);
    CHECK(learning_rate(s, 500, 1001, 0.1) == cosine_rate(500, 1001, 0.1));
    REQUIRE(parse_lr_schedule("onecycle", s));
    CHECK(learning_rate(s, 500, 1001, 0.1) == one_cycle_rate(500, 1001, 0.1));
    REQUIRE(parse_lr_schedule("constant", s));
    CHECK(learning_rate(s, 500, 1001, 0.1) == 0.1);
    CHECK_FALSE(parse_lr_schedule("plateau", s));
    CHECK(s == lr_schedule::constant);  // unchanged by a name it does not know
}
