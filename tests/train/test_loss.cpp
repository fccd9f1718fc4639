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

TEST_CASE("loss: class weights give the weighted mean, and weights of 1 change nothing") {
    double const ln3 = std::log(3.0);
    double const z[] = {0, ln3, 1000, 1000, 0, 0};
    std::int32_t const labels[] = {1, 0, 0};
    double p[6], dz[6], p1[6], dz1[6];
    double const ones[] = {1, 1};
    double const plain = mien::softmax_cross_entropy<double>(3, 2, z, labels, p, dz, 0.1);
    double const unit = mien::softmax_cross_entropy<double>(3, 2, z, labels, p1, dz1, 0.1, ones);
    CHECK(plain == unit);
    for (int i = 0; i < 6; ++i) CHECK(dz[i] == dz1[i]);

    // Weights (3, 1): samples count 1, 3, 3 of W = 7. Per-sample losses -ln 3/4, -ln 1/2, -ln 1/2.
    double const w[] = {3, 1};
    double const loss = mien::softmax_cross_entropy<double>(3, 2, z, labels, p, dz, 0.0, w);
    CHECK(loss == doctest::Approx((-std::log(0.75) - 6 * std::log(0.5)) / 7).epsilon(1e-14));
    check_close(dz, std::vector<double>{0.25 / 7, -0.25 / 7, -1.5 / 7, 1.5 / 7, -1.5 / 7, 1.5 / 7}, 1e-15);
}

TEST_CASE("loss: a class of weight 0 is ignored, as if its samples were not in the batch") {
    double const z[] = {0.3, -0.2, 1.1, 0.5, -0.7, 0.2};
    std::int32_t const labels[] = {0, 2};
    double const w[] = {1, 1, 0};
    double p[6], dz[6], p_alone[3], dz_alone[3];
    double const loss = mien::softmax_cross_entropy<double>(2, 3, z, labels, p, dz, 0.0, w);
    double const alone = mien::softmax_cross_entropy<double>(1, 3, z, labels, p_alone, dz_alone);
    CHECK(loss == doctest::Approx(alone).epsilon(1e-15));
    check_close(std::vector<double>(dz, dz + 3), std::vector<double>(dz_alone, dz_alone + 3), 1e-15);
    check_close(std::vector<double>(dz + 3, dz + 6), std::vector<double>{0, 0, 0}, 0.0);
    // Only zero-weight samples: nothing to learn, loss and gradient 0 (not a division by zero).
    std::int32_t const only_ignored[] = {2, 2};
    CHECK(mien::softmax_cross_entropy<double>(2, 3, z, only_ignored, p, dz, 0.0, w) == 0.0);
    for (double g : dz) CHECK(g == 0.0);
}

TEST_CASE("loss: the weighted gradient matches central differences") {
    double z[] = {0.3, -0.2, 1.1, 0.5, -0.7, 0.2, 0.0, 0.9, -0.4};
    std::int32_t const labels[] = {2, 0, 1};
    double const w[] = {0.5, 2.0, 1.25};
    double p[9], dz[9];
    mien::softmax_cross_entropy<double>(3, 3, z, labels, p, dz, 0.05, w);
    for (int i = 0; i < 9; ++i) {
        double const keep = z[i], h = 1e-6;
        z[i] = keep + h;
        double const up = mien::softmax_cross_entropy<double>(3, 3, z, labels, p, nullptr, 0.05, w);
        z[i] = keep - h;
        double const down = mien::softmax_cross_entropy<double>(3, 3, z, labels, p, nullptr, 0.05, w);
        z[i] = keep;
        CHECK(dz[i] == doctest::Approx((up - down) / (2 * h)).epsilon(1e-7));
    }
}
