// balanced_class_weights: n / (classes present x faces of the class), 0 for absent classes.
#include <mien/train/class_weights.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

TEST_CASE("class weights: balanced weights make every present class weigh the same in total") {
    // 8 faces: class 0 x4, class 1 x3, class 3 x1; class 2 absent. Three classes present.
    std::vector<std::int32_t> const labels{0, 1, 0, 3, 1, 0, 1, 0};
    auto const w = mien::balanced_class_weights<double, 4>(labels);
    CHECK(w[0] == doctest::Approx(8.0 / (3 * 4)));
    CHECK(w[1] == doctest::Approx(8.0 / (3 * 3)));
    CHECK(w[2] == 0.0);
    CHECK(w[3] == doctest::Approx(8.0 / 3));
    // Each present class totals n / C; the mean weight per face is 1.
    CHECK(4 * w[0] == doctest::Approx(3 * w[1]));
    CHECK(3 * w[1] == doctest::Approx(1 * w[3]));
    CHECK(4 * w[0] + 3 * w[1] + w[3] == doctest::Approx(8.0));
}

TEST_CASE("class weights: an already balanced set gives weight 1 everywhere") {
    std::vector<std::int32_t> const labels{2, 0, 1, 1, 0, 2};
    for (float x : mien::balanced_class_weights<float, 3>(labels)) CHECK(x == doctest::Approx(1.0f));
}

TEST_CASE("class weights: a label outside 0..K-1 and an empty set fail with a message") {
    auto weights = [](std::vector<std::int32_t> const& labels) { return mien::balanced_class_weights<float, 7>(labels); };
    CHECK_THROWS_WITH_AS(weights({0, 1, 7}), "balanced_class_weights: label 7 of face 2 is outside [0, 7)", mien::error);
    CHECK_THROWS_WITH_AS(weights({}), "balanced_class_weights: no labels (an empty training set)", mien::error);
}
