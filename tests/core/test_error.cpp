// Bad input: every run-time check throws mien::error naming what it expected and what it found,
// and a rejected call changes nothing.
#include <mien/core/error.hpp>
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using namespace mien;

namespace {

// A small network with batch norm (running statistics) and dropout (a rate in the state).
using tiny = network<input<4, 4, 1>, conv2d<3, 3>, batch_norm, relu, global_avg_pool, dense<5>, dropout, dense<3>>;

// The message of the mien::error that f throws ("" if it throws nothing).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (error const& e) {
        return e.what();
    }
    return "";
}

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("error: fail formats the message, fail_size names both sizes") {
    std::string const m = error_of([] { fail("layer %s: %d != %d", "conv2d", 3, 4); });
    CHECK(m == "layer conv2d: 3 != 4");
    CHECK(error_of([] { fail_size("where", 10, 7); }) == "where: expected 10 values, found 7");
    CHECK(error_of([] {}).empty());
}

TEST_CASE("error: predict with a vector of the wrong size names both sizes") {
    auto net = std::make_unique<models::paper<>>();
    std::vector<float> const wrong(100, 0.5f);
    std::string const m = error_of([&] { net->predict(wrong); });
    CHECK(contains(m, "2304"));
    CHECK(contains(m, "100"));
    CHECK(error_of([&] { net->predict(std::vector<float>(2305)); }).find("2305") != std::string::npos);
    CHECK(error_of([&] { net->predict(std::vector<float>(2304)); }).empty());
}

TEST_CASE("error: trainer::step rejects too many labels, too few, and mismatched images") {
    auto net = std::make_unique<tiny>();
    auto tr = std::make_unique<trainer<tiny, 4>>(*net);
    std::vector<float> const images(5 * 16, 0.5f);
    std::vector<std::int32_t> const labels{0, 1, 2, 0, 1};
    std::string m = error_of([&] { tr->step(images, labels); });
    CHECK(contains(m, "4"));
    CHECK(contains(m, "5"));
    CHECK(contains(error_of([&] { tr->step(std::span(images).first(0), std::span(labels).first(0)); }), "found 0"));
    m = error_of([&] { tr->step(std::span(images).first(3 * 16 - 1), std::span(labels).first(3)); });
    CHECK(contains(m, "48"));
    CHECK(contains(m, "47"));
    CHECK(error_of([&] { tr->step(std::span(images).first(3 * 16), std::span(labels).first(3)); }).empty());
}

TEST_CASE("error: a label outside 0..K-1 is rejected before anything changes") {
    auto net = std::make_unique<tiny>();
    auto tr = std::make_unique<trainer<tiny, 4>>(*net);
    std::vector<float> images(2 * 16);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 7) / 7;
    auto const params = std::vector<float>(net->parameters().begin(), net->parameters().end());
    auto const state = std::vector<float>(net->state().begin(), net->state().end());
    auto const rng = tr->rng().state();
    for (std::int32_t const bad : {3, -1, 1000}) {
        std::vector<std::int32_t> const labels{0, bad};
        std::string const m = error_of([&] { tr->step(images, labels); });
        CHECK(contains(m, std::to_string(bad)));
        CHECK(contains(m, "[0, 3)"));
    }
    // Nothing moved: parameters, running statistics, the dropout generator, the optimiser.
    CHECK(std::equal(params.begin(), params.end(), net->parameters().begin()));
    CHECK(std::equal(state.begin(), state.end(), net->state().begin()));
    CHECK(tr->rng().state() == rng);
    CHECK(tr->optimizer().steps() == 0);
}

TEST_CASE("error: soft targets and batch prediction check their sizes") {
    auto net = std::make_unique<tiny>();
    auto tr = std::make_unique<trainer<tiny, 4>>(*net);
    std::vector<float> const images(2 * 16, 0.5f), targets(2 * 3 + 1, 0.1f);
    std::string const m = error_of([&] { tr->step_soft(images, targets); });
    CHECK(contains(m, "32"));
    CHECK(contains(m, "7"));
    std::string const p = error_of([&] { tr->predict_batch(std::vector<float>(5 * 16)); });
    CHECK(contains(p, "80"));
    CHECK(error_of([&] { tr->predict_batch(std::vector<float>(17)); }).find("17") != std::string::npos);
}

TEST_CASE("error: set_dropout_rate accepts 0 <= rate < 1 only") {
    auto net = std::make_unique<tiny>();
    CHECK(contains(error_of([&] { net->set_dropout_rate(1.5); }), "1.5"));
    CHECK_FALSE(error_of([&] { net->set_dropout_rate(1.0); }).empty());
    CHECK_FALSE(error_of([&] { net->set_dropout_rate(-0.1); }).empty());
    CHECK_FALSE(error_of([&] { net->set_dropout_rate(std::numeric_limits<double>::quiet_NaN()); }).empty());
    CHECK(error_of([&] { net->set_dropout_rate(0.3); }).empty());
    float rate = -1;
    net->for_each_tensor([&](tensor_info const& t) {
        if (t.name == "rate") rate = net->state()[t.offset];
    });
    CHECK(rate == doctest::Approx(0.3));
}
