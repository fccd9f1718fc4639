// saliency: the gradient of a class logit with respect to the input, against central differences
// of predict() on a small network with every kind of layer of the paper's network.
#include <mien/core/saliency.hpp>
#include <mien/models/paper.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <span>

using namespace mien;

namespace {

// The paper's network, shrunk: 8x8 input, widths 4, attention width 4, 8 hidden, 3 classes; in
// double so that central differences are accurate.
using tiny = basic_network<double, input<8, 8, 1>, models::basic_paper<4, 4, 4, 4, 8, 3, 8, 8, 1>>;

}  // namespace

TEST_CASE("saliency: the input gradient of each class logit matches central differences of predict") {
    auto net = std::make_unique<tiny>();
    net->init(3);
    // Running statistics away from (0, 1), so that inference batch norm is not the identity.
    random_generator rng(5);
    net->for_each_tensor([&](tensor_info const& t) {
        if (t.trainable || t.layer != "batch_norm") return;
        for (std::size_t i = 0; i < t.size(); ++i)
            net->state()[t.offset + i] = t.name == "running_var" ? rng.uniform(0.5, 2.0) : rng.uniform(-0.3, 0.3);
    });
    net->set_dropout_rate(0.5);  // inference: dropout must be the identity in both passes
    std::array<double, tiny::inputs> x{};
    for (auto& v : x) v = rng.uniform(0.0, 1.0);

    auto map = std::make_unique<saliency<tiny>>();
    for (std::size_t k = 0; k < tiny::outputs; ++k) {
        CAPTURE(k);
        std::array<double, tiny::inputs> const g = map->gradient(*net, x, k);
        auto const& p = net->predict(x);
        for (std::size_t c = 0; c < tiny::outputs; ++c) CHECK(map->probabilities()[c] == doctest::Approx(p[c]).epsilon(1e-12));
        double max_error = 0, max_gradient = 0;
        double const h = 1e-6;
        for (std::size_t i = 0; i < tiny::inputs; ++i) {
            std::array<double, tiny::inputs> xp = x, xm = x;
            xp[i] += h;
            xm[i] -= h;
            net->predict(xp);
            double const up = net->logits()[k];
            net->predict(xm);
            double const down = net->logits()[k];
            double const numeric = (up - down) / (2 * h);
            max_error = std::max(max_error, std::abs(numeric - g[i]) / std::max(1e-3, std::abs(numeric)));
            max_gradient = std::max(max_gradient, std::abs(g[i]));
        }
        CHECK(max_error < 1e-5);
        CHECK(max_gradient > 1e-3);  // not trivially zero
    }
}

TEST_CASE("saliency: bad class and input size are errors") {
    auto net = std::make_unique<tiny>();
    auto map = std::make_unique<saliency<tiny>>();
    std::array<double, tiny::inputs> x{};
    CHECK_THROWS_WITH_AS(map->gradient(*net, x, 3), doctest::Contains("class 3 is outside [0, 3)"), mien::error);
    std::array<double, 5> short_input{};
    CHECK_THROWS_AS(map->gradient(*net, std::span<double const>(short_input), 0), mien::error);
}
