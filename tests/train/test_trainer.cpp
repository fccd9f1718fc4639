// trainer: deterministic for a seed (with one or two threads), wired to the loss and optimiser.
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "support/shapes_dataset.hpp"

using namespace mien;

namespace {

using net_t = models::fast;
constexpr std::size_t batch = 32;

testing::shape_set const& data() {
    static testing::shape_set const set = testing::make_shape_set(batch, 4);
    return set;
}

struct run_result {
    std::vector<float> params, state;
    std::vector<double> losses;
};

// A fresh network (seed 1), `steps` steps on the same batch with a trainer of Threads threads
// storage running `threads` of them (with these class weights, if any).
template <std::size_t Threads>
run_result train(std::size_t steps, std::size_t threads = Threads, std::uint64_t trainer_seed = 1,
                 std::vector<float> const* class_weights = nullptr) {
    auto net = std::make_unique<net_t>();
    net->init(1);
    auto tr = std::make_unique<trainer<net_t, batch, adam, Threads>>(*net, adam_options{}, trainer_seed, threads);
    REQUIRE(tr->threads() == threads);
    if (class_weights) tr->set_class_weights(*class_weights);
    CHECK(tr->has_class_weights() == (class_weights != nullptr));
    run_result r;
    for (std::size_t s = 0; s < steps; ++s) r.losses.push_back(tr->step(data().images, data().labels));
    r.params.assign(net->parameters().begin(), net->parameters().end());
    r.state.assign(net->state().begin(), net->state().end());
    return r;
}

bool bit_identical(std::vector<float> const& a, std::vector<float> const& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("trainer: the same seed gives bit-identical parameters after 5 steps (one thread)") {
    run_result const a = train<1>(5), b = train<1>(5);
    CHECK(bit_identical(a.params, b.params));
    CHECK(bit_identical(a.state, b.state));
    CHECK(a.losses == b.losses);
    // Another trainer seed draws other dropout masks, so the runs part.
    run_result const c = train<1>(5, 1, 2);
    CHECK_FALSE(bit_identical(a.params, c.params));
}

TEST_CASE("trainer: two threads give bit-identical parameters across runs") {
    run_result const a = train<2>(5), b = train<2>(5);
    CHECK(bit_identical(a.params, b.params));
    CHECK(bit_identical(a.state, b.state));
    CHECK(a.losses == b.losses);
}

TEST_CASE("trainer: storage for two threads running one is the one-thread trainer, bit for bit") {
    run_result const one = train<1>(3), two_as_one = train<2>(3, 1);
    CHECK(bit_identical(one.params, two_as_one.params));
    CHECK(one.losses == two_as_one.losses);
}

TEST_CASE("trainer: one and two threads compute the same gradients up to summation order") {
    auto n1 = std::make_unique<net_t>(), n2 = std::make_unique<net_t>();
    n1->init(1);
    n2->init(1);
    auto t1 = std::make_unique<trainer<net_t, batch, adam, 1>>(*n1);
    auto t2 = std::make_unique<trainer<net_t, batch, adam, 2>>(*n2);
    double const l1 = t1->step(data().images, data().labels), l2 = t2->step(data().images, data().labels);
    CHECK(l1 == doctest::Approx(l2).epsilon(1e-6));
    auto const g1 = t1->last_gradients(), g2 = t2->last_gradients();
    double largest = 0, worst = 0;
    for (std::size_t i = 0; i < g1.size(); ++i) {
        largest = std::max(largest, double(std::abs(g1[i])));
        worst = std::max(worst, double(std::abs(g1[i] - g2[i])));
    }
    CHECK(largest > 0);
    CHECK(worst <= 1e-4 * largest);
}

TEST_CASE("trainer: step returns the mean cross-entropy and moves each parameter by about lr") {
    auto net = std::make_unique<net_t>();
    net->init(1);
    std::vector<float> const before(net->parameters().begin(), net->parameters().end());
    auto tr = std::make_unique<trainer<net_t, batch, adam, 1>>(*net, adam_options{.learning_rate = 1e-3});
    double const loss = tr->step(data().images, data().labels);
    // The loss is -mean log p(label) of the probabilities the step computed.
    auto const probs = tr->last_probabilities();
    double expected = 0;
    for (std::size_t s = 0; s < batch; ++s) expected -= std::log(double(probs[s * 7 + std::size_t(data().labels[s])]));
    CHECK(loss == doctest::Approx(expected / batch).epsilon(1e-6));
    CHECK(tr->optimizer().steps() == 1);
    // Adam's first step is lr * g / (|g| + eps): about lr for every parameter with a gradient.
    std::vector<double> moved(before.size());
    for (std::size_t i = 0; i < before.size(); ++i) moved[i] = std::abs(double(net->parameters()[i]) - double(before[i]));
    CHECK(*std::max_element(moved.begin(), moved.end()) <= 1.01e-3);
    std::nth_element(moved.begin(), moved.begin() + std::ptrdiff_t(moved.size() / 2), moved.end());
    CHECK(moved[moved.size() / 2] > 0.9e-3);
}

TEST_CASE("trainer: class weights reach the loss; uniform powers of two change nothing") {
    auto run = [](std::vector<float> const* weights) { return train<1>(3, 1, 1, weights).params; };
    std::vector<float> const twos(net_t::outputs, 2.0f);
    std::vector<float> skewed(net_t::outputs, 1.0f);
    skewed[0] = 4.0f;
    auto const plain = run(nullptr);
    // 2 w / (2 W) rounds exactly as w / W: the same bits.
    CHECK(bit_identical(run(&twos), plain));
    CHECK_FALSE(bit_identical(run(&skewed), plain));
}

TEST_CASE("trainer: bad class weights fail with what was expected") {
    auto net = std::make_unique<net_t>();
    net->init(1);
    auto tr = std::make_unique<trainer<net_t, batch, adam, 1>>(*net);
    std::vector<float> w(net_t::outputs, 1.0f);
    CHECK_THROWS_WITH_AS(tr->set_class_weights(std::span<float const>(w.data(), 3)),
                         doctest::Contains("class weights"), mien::error);
    w[2] = -1;
    CHECK_THROWS_WITH_AS(tr->set_class_weights(w), "trainer::set_class_weights: weight 2 is -1; expected a finite value >= 0",
                         mien::error);
    std::fill(w.begin(), w.end(), 0.0f);
    CHECK_THROWS_WITH_AS(tr->set_class_weights(w), "trainer::set_class_weights: every weight is 0; at least one class must count",
                         mien::error);
    CHECK_FALSE(tr->has_class_weights());
}
