// softmax_cross_entropy: loss, probabilities and dz = (p - t) / n, label smoothing, bad labels.
#include <mien/train/loss.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

#include "support/layer_test.hpp"

using namespace mien::testing;

TEST_CASE("loss: hand-computed cross-entropy and gradient, two samples") {
    double const ln3 = std::log(3.0);
    // sample 0: logits (0, ln3) -> p = (1/4, 3/4), label 1; sample 1: (1000, 1000) -> (1/2, 1/2), label 0
    double const z[] = {0, ln3, 1000, 1000};
    std::int32_t const labels[] = {1, 0};
    double p[4], dz[4];
    double const loss = mien::softmax_cross_entropy<double>(2, 2, z, labels, p, dz);
    CHECK(loss == doctest::Approx((-std::log(0.75) - std::log(0.5)) / 2).epsilon(1e-15));
    check_close(p, std::vector<double>{0.25, 0.75, 0.5, 0.5}, 1e-15);
    check_close(dz, std::vector<double>{0.125, -0.125, -0.25, 0.25}, 1e-15);
}

TEST_CASE("loss: label smoothing mixes the one-hot target with the uniform one") {
    double const z[] = {0, 0, 0, 0};
    std::int32_t const label[] = {2};
    double p[4], dz[4];
    // t = 0.9 onehot + 0.1 / 4: (0.025, 0.025, 0.925, 0.025); p = 1/4 everywhere; loss = ln 4
    double const loss = mien::softmax_cross_entropy<double>(1, 4, z, label, p, dz, 0.1);
    CHECK(loss == doctest::Approx(std::log(4.0)).epsilon(1e-15));
    check_close(dz, std::vector<double>{0.225, 0.225, -0.675, 0.225}, 1e-15);
}

TEST_CASE("loss: a label outside 0..K-1 throws with the label and K") {
    float const z[] = {0, 0, 0};
    std::int32_t const label[] = {3};
    float p[3], dz[3];
    CHECK_THROWS_WITH_AS(mien::softmax_cross_entropy<float>(1, 3, z, label, p, dz),
                         "softmax_cross_entropy: label 3 of sample 0 is outside [0, 3)", mien::error);
}
