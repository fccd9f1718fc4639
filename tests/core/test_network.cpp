// network: one type for a whole model; its costs, storage, tensors and predict.
#include <mien/core/network.hpp>
#include <mien/layers/batch_norm.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/dropout.hpp>
#include <mien/layers/global_avg_pool.hpp>
#include <mien/layers/max_pool.hpp>
#include <mien/layers/relu.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace mien;

namespace {

using small = network<input<6, 6, 2>, conv2d<4, 3>, batch_norm, relu, max_pool<2>, global_avg_pool, dense<5>, dropout,
                      dense<3>>;

// conv 3*3*2*4 = 72, BN 2*4, dense 4*5 + 5, dense 5*3 + 3
static_assert(small::params == 72 + 8 + 25 + 18);
static_assert(small::state_size == 8 + 1 && small::rate_states() == 1);
static_assert(small::macs == 6 * 6 * 3 * 3 * 2 * 4 + 4 * 5 + 5 * 3);
static_assert(small::inputs == 72 && small::outputs == 3);
static_assert(std::is_same_v<small::output_shape_type, flat<3>>);
static_assert(small::parameter_bytes == (123 + 9) * sizeof(float));
static_assert(basic_network<double, input<6, 6, 2>, conv2d<4, 3>>::parameter_bytes == 72 * sizeof(double));

std::vector<float> image(std::uint64_t seed) {
    random_generator rng(seed);
    std::vector<float> x(small::inputs);
    for (auto& v : x) v = float(rng.uniform());
    return x;
}

}  // namespace

TEST_CASE("network: init is deterministic for a seed, the default constructor uses seed 0") {
    auto a = std::make_unique<small>(), b = std::make_unique<small>();
    a->init(5);
    b->init(5);
    CHECK(std::equal(a->parameters().begin(), a->parameters().end(), b->parameters().begin()));
    b->init(6);
    CHECK_FALSE(std::equal(a->parameters().begin(), a->parameters().end(), b->parameters().begin()));
    auto c = std::make_unique<small>();
    a->init(0);
    CHECK(std::equal(a->parameters().begin(), a->parameters().end(), c->parameters().begin()));
}

TEST_CASE("network: tensors tile the parameter and state arrays, in layer order") {
    small net;
    std::vector<std::string> names;
    std::size_t next_param = 0, next_state = 0, last_layer = 0;
    net.for_each_tensor([&](tensor_info const& t) {
        names.push_back(std::string(t.layer) + "." + std::string(t.name));
        std::size_t& next = t.trainable ? next_param : next_state;
        CHECK(t.offset == next);  // contiguous, no gaps or overlaps
        next += t.size();
        CHECK(t.layer_index >= last_layer);
        last_layer = t.layer_index;
    });
    CHECK(next_param == small::params);
    CHECK(next_state == small::state_size);
    std::vector<std::string> const expected{"conv2d.weight",   "batch_norm.gamma", "batch_norm.beta", "batch_norm.running_mean",
                                            "batch_norm.running_var", "dense.weight", "dense.bias", "dropout.rate",
                                            "dense.weight",    "dense.bias"};
    CHECK(names == expected);
    // Fresh state: running mean 0, running variance 1, dropout rate 0.2.
    CHECK(net.state()[0] == 0);
    CHECK(net.state()[4] == 1);
    CHECK(net.state()[8] == doctest::Approx(0.2));
}

// The table is a constant of the type: its facts are checked by the compiler...
static_assert(mien::tensor_count<small> == 10);
static_assert(mien::tensor_table<small>[0].name == "weight" && mien::tensor_table<small>[0].rank == 4);
static_assert(mien::tensor_table<small>[3].name == "running_mean" && !mien::tensor_table<small>[3].trainable);

TEST_CASE("network: the compile-time tensor table is what for_each_tensor gives at run time") {
    small net;
    std::size_t i = 0;
    net.for_each_tensor([&](tensor_info const& t) {
        REQUIRE(i < mien::tensor_count<small>);
        tensor_info const& c = mien::tensor_table<small>[i++];
        CHECK(c.layer == t.layer);
        CHECK(c.name == t.name);
        CHECK(c.dims == t.dims);
        CHECK(c.rank == t.rank);
        CHECK(c.offset == t.offset);
        CHECK(c.trainable == t.trainable);
        CHECK(c.rate == t.rate);
        CHECK(c.layer_index == t.layer_index);
    });
    CHECK(i == mien::tensor_count<small>);
}

TEST_CASE("network: predict gives the softmax of the logits, the same through every overload") {
    auto net = std::make_unique<small>();
    net->init(3);
    std::vector<float> const x = image(1);
    std::array<float, 3> const p = net->predict(x);
    std::array<float, 3> const z = net->logits();
    double const total = std::exp(double(z[0])) + std::exp(double(z[1])) + std::exp(double(z[2]));
    for (std::size_t k = 0; k < 3; ++k) CHECK(p[k] == doctest::Approx(std::exp(double(z[k])) / total).epsilon(1e-6));
    CHECK(p[0] + p[1] + p[2] == doctest::Approx(1).epsilon(1e-6));
    // fixed-size span, run-time span, std::array: all the same numbers
    CHECK(net->predict(std::span<float const, small::inputs>(x.data(), small::inputs)) == p);
    CHECK(net->predict(std::span<float const>(x)) == p);
    std::array<float, small::inputs> a{};
    std::copy(x.begin(), x.end(), a.begin());
    CHECK(net->predict(a) == p);
    // Another image, another answer; predict leaves the running statistics alone.
    std::vector<float> const state(net->state().begin(), net->state().end());
    CHECK(net->predict(image(2)) != p);
    CHECK(std::equal(state.begin(), state.end(), net->state().begin()));
}

TEST_CASE("network: predict agrees with the trainer's batch inference") {
    auto net = std::make_unique<small>();
    net->init(4);
    // Move the running statistics away from (0, 1) with a few training steps first.
    auto tr = std::make_unique<trainer<small, 3>>(*net);
    std::vector<float> batch;
    for (std::uint64_t s = 0; s < 3; ++s) {
        std::vector<float> const x = image(10 + s);
        batch.insert(batch.end(), x.begin(), x.end());
    }
    std::vector<std::int32_t> const labels{0, 1, 2};
    for (int i = 0; i < 3; ++i) tr->step(batch, labels);
    CHECK(net->state()[0] != 0);
    std::span<float const> const probs = tr->predict_batch(batch);
    REQUIRE(probs.size() == 9);
    for (std::size_t s = 0; s < 3; ++s) {
        std::array<float, 3> const p = net->predict(std::span<float const>(batch).subspan(s * small::inputs, small::inputs));
        for (std::size_t k = 0; k < 3; ++k) CHECK(probs[s * 3 + k] == doctest::Approx(p[k]).epsilon(1e-6));
    }
}

TEST_CASE("network: the cost table lists every layer and the totals") {
    std::FILE* out = std::tmpfile();
    REQUIRE(out);
    small::print_cost_table(out);
    std::rewind(out);
    std::string text(4096, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), out));
    std::fclose(out);
    for (char const* part : {"conv2d", "6x6x4", "max_pool", "3x3x4", "dense", "1x1x3", "dropout",
                             "total: 123 params (+8 running statistics), 2627 MACs per sample"})
        CHECK_MESSAGE(text.find(part) != std::string::npos, "missing '", part, "' in\n", text);
}

TEST_CASE("network: a view over const parameters predicts into the caller's arena, writing nothing outside it") {
    auto net = std::make_unique<small>();
    net->init(31);
    for (auto& v : net->state()) v = v == 0 ? 0.25f : v;  // running means off zero, rates kept
    auto const x = image(32);
    auto const owned = net->predict(x);

    // The arena in the middle of a larger buffer whose margins must stay as they were.
    constexpr std::size_t margin = 256;
    alignas(64) static std::array<std::byte, small::inference_bytes + 2 * margin> buffer;
    buffer.fill(std::byte{0xA5});
    std::span<std::byte, small::inference_bytes> arena(buffer.data() + margin, small::inference_bytes);
    std::vector<float> const params(net->parameters().begin(), net->parameters().end());
    std::vector<float> const state(net->state().begin(), net->state().end());
    network_view<small> const view(std::span<float const, small::params>(params.data(), small::params),
                                   std::span<float const, small::state_size>(state.data(), state.size()));
    auto const probs = view.predict(std::span<float const, small::inputs>(x.data(), x.size()), arena);
    CHECK(std::equal(probs.begin(), probs.end(), owned.begin()));  // bit for bit
    CHECK(probs.data() >= reinterpret_cast<float const*>(arena.data()));
    CHECK(probs.data() + small::outputs <= reinterpret_cast<float const*>(arena.data() + arena.size()));
    for (std::size_t i = 0; i < margin; ++i) {
        REQUIRE(buffer[i] == std::byte{0xA5});
        REQUIRE(buffer[margin + small::inference_bytes + i] == std::byte{0xA5});
    }
    // Whatever the arena held before (here NaNs) does not change the result.
    std::fill_n(reinterpret_cast<float*>(arena.data()), small::inference_values, std::nanf(""));
    auto const again = view.predict(std::span<float const, small::inputs>(x.data(), x.size()), arena);
    CHECK(std::equal(again.begin(), again.end(), owned.begin()));
    // A misaligned arena is refused with a message.
    CHECK_THROWS_WITH(small::predict(net->parameters(), net->state(), std::span<float const, small::inputs>(x.data(), x.size()),
                                     std::span<std::byte, small::inference_bytes>(buffer.data() + 1, small::inference_bytes)),
                      doctest::Contains("predict: the arena must be aligned to 4 bytes"));
}
