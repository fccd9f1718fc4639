// mien/train/targets.hpp: the target row of a face built by hand, soft rows checked on the way
// in, and class draws that follow the row.
#include <mien/train/targets.hpp>

#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <vector>

#include "support/io_test.hpp"

TEST_CASE("targets: (1 - w) smoothed one-hot + w soft row, computed by hand") {
    std::array<float, 4> const soft{0.5f, 0.0f, 0.25f, 0.25f};
    std::array<float, 4> t{};
    // label 1, smoothing 0.2, w 0.4: hard = (0.05, 0.85, 0.05, 0.05)
    mien::face_target(4, 1, 0.2, soft.data(), 0.4, t.data());
    CHECK(t[0] == doctest::Approx(0.6 * 0.05 + 0.4 * 0.5));
    CHECK(t[1] == doctest::Approx(0.6 * 0.85));
    CHECK(t[2] == doctest::Approx(0.6 * 0.05 + 0.4 * 0.25));
    CHECK(t[3] == doctest::Approx(0.6 * 0.05 + 0.4 * 0.25));
    CHECK(t[0] + t[1] + t[2] + t[3] == doctest::Approx(1.0));
    // No soft row: the weight does not apply, the face keeps its (smoothed) one-hot.
    mien::face_target(4, 3, 0.0, nullptr, 0.4, t.data());
    CHECK(t == std::array<float, 4>{0, 0, 0, 1});
    // w = 1: the soft row alone.
    mien::face_target(4, 3, 0.1, soft.data(), 1.0, t.data());
    CHECK(t == soft);
}

TEST_CASE("targets: soft rows are checked when built") {
    using row = std::optional<std::array<float, 3>>;
    auto const ok = mien::soft_targets::from(std::vector<row>{row{{0.5f, 0.5f, 0.0f}}, std::nullopt});
    CHECK(ok.classes == 3);
    CHECK(ok.size() == 2);
    CHECK(ok.count() == 1);
    CHECK(ok.has(0));
    CHECK_FALSE(ok.has(1));
    CHECK(ok.row(0)[1] == 0.5f);
    CHECK(mien::testing::error_of([] { mien::soft_targets::from(std::vector<row>{std::nullopt, row{{0.5f, 0.6f, 0.0f}}}); }) ==
          "soft_targets: row 1 sums to 1.100000; expected 1");
    CHECK(mien::testing::error_of([] { mien::soft_targets::from(std::vector<row>{row{{1.5f, -0.5f, 0.0f}}}); }) ==
          "soft_targets: row 0, class 1 is -0.5; expected a probability");
}

TEST_CASE("targets: drawn classes follow the row") {
    std::array<float, 4> const row{0.5f, 0.0f, 0.3f, 0.2f};
    mien::random_generator rng(7);
    std::array<int, 4> counts{};
    for (int i = 0; i < 20000; ++i) counts[mien::draw_class(row.data(), 4, rng)]++;
    CHECK(counts[1] == 0);
    CHECK(counts[0] / 20000.0 == doctest::Approx(0.5).epsilon(0.05));
    CHECK(counts[2] / 20000.0 == doctest::Approx(0.3).epsilon(0.05));
    CHECK(counts[3] / 20000.0 == doctest::Approx(0.2).epsilon(0.05));
}
