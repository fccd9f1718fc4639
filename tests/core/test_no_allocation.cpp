// No allocation: after construction and warm-up, predict and training steps never touch the
// heap. This file replaces the global operator new for the whole mien_tests binary (the only
// file that includes support/allocation_counter.hpp); the replacement only counts.
#include "support/allocation_counter.hpp"

#include <mien/core/saliency.hpp>
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "support/shapes_dataset.hpp"

using mien::testing::allocation_count;

namespace {
// Keeps the compiler from removing an allocation it can see is unused (new/delete pairs may be
// elided since C++14).
[[gnu::noinline]] void escape(void const* p) { asm volatile("" : : "g"(p) : "memory"); }

struct alignas(64) cache_line {
    float v[16];
};
}  // namespace

TEST_CASE("no allocation: the counter sees every form of operator new") {
    std::size_t const before = allocation_count();
    int* one = new int(3);
    escape(one);
    delete one;
    double* many = new (std::nothrow) double[100];
    escape(many);
    delete[] many;
    cache_line* aligned = new cache_line;  // aligned new (64 > alignof(max_align_t))
    escape(aligned);
    CHECK(reinterpret_cast<std::uintptr_t>(aligned) % 64 == 0);
    delete aligned;
    std::vector<float> v(1000);
    escape(v.data());
    CHECK(allocation_count() - before == 4);
}

TEST_CASE("no allocation: 200 predict calls of the paper network allocate nothing") {
    auto net = std::make_unique<mien::models::paper<>>();  // created before counting
    mien::testing::shape_set const faces = mien::testing::make_shape_set(7, 1);
    std::vector<float> const x(faces.images.begin(), faces.images.begin() + 2304);
    float sum = net->predict(x)[0];  // warm-up
    std::size_t const before = allocation_count();
    for (int i = 0; i < 200; ++i) sum += net->predict(faces.image(std::size_t(i) % 7))[0];
    sum += net->predict(x)[1];  // the std::vector overload too
    std::size_t const allocated = allocation_count() - before;
    CHECK(allocated == 0);
    CHECK(sum > 0);
}

TEST_CASE("no allocation: 20 trainer steps at batch 32 with two threads allocate nothing") {
    using net_t = mien::models::fast;
    auto net = std::make_unique<net_t>();
    auto tr = std::make_unique<mien::trainer<net_t, 32, mien::adam, 2>>(*net);  // thread team created here
    REQUIRE(tr->threads() == 2);
    mien::testing::shape_set const data = mien::testing::make_shape_set(32, 2);
    double loss = tr->step(data.images, data.labels);  // warm-up
    std::size_t const before = allocation_count();
    for (int i = 0; i < 20; ++i) loss += tr->step(data.images, data.labels);
    loss += double(tr->predict_batch(data.images)[0]);
    std::size_t const allocated = allocation_count() - before;
    CHECK(allocated == 0);
    CHECK(loss > 0);
}

TEST_CASE("no allocation: saliency maps of the paper network allocate nothing") {
    auto net = std::make_unique<mien::models::paper<>>();
    auto map = std::make_unique<mien::saliency<mien::models::paper<>>>();
    mien::testing::shape_set const faces = mien::testing::make_shape_set(7, 1);
    float sum = map->gradient(*net, faces.image(0), 0)[0];  // warm-up
    std::size_t const before = allocation_count();
    for (int i = 0; i < 20; ++i) sum += map->gradient(*net, faces.image(std::size_t(i) % 7), std::size_t(i) % 7)[100];
    CHECK(allocation_count() - before == 0);
    CHECK(std::isfinite(sum));
}
