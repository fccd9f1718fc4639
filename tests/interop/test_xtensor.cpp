// mien/interop/xtensor.hpp: predict from xtensor expressions of every accepted shape and layout,
// parameter and state tensors as writable adaptors over the network's memory, clear errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <mien/interop/xtensor.hpp>
#include <mien/models/paper.hpp>

#include "support/io_test.hpp"

namespace {

using fast = mien::models::fast;
using paper = mien::models::paper<>;
using mien::testing::error_of;

// The compile-time shape of an xt::xfixed_adaptor (its template argument S).
template <class A>
struct fixed_shape_of;
template <class EC, class S, xt::layout_type L, bool SH, class Tag>
struct fixed_shape_of<xt::xfixed_adaptor<EC, S, L, SH, Tag>> {
    using type = S;
};

// n faces of pseudo-random pixels in [0, 1], (n, 48, 48, 1).
xt::xtensor<float, 4> random_faces(std::size_t n, std::uint32_t seed) {
    xt::xtensor<float, 4> f = xt::xtensor<float, 4>::from_shape({n, 48, 48, 1});
    std::uint32_t s = seed;
    for (float& v : f) {
        s = s * 1664525u + 1013904223u;
        v = float(s >> 8) / float(1u << 24);
    }
    return f;
}

// What net.predict gives face by face: the reference.
template <class Net>
std::vector<std::array<float, 7>> reference(Net& net, xt::xtensor<float, 4> const& faces) {
    std::vector<std::array<float, 7>> out;
    for (std::size_t i = 0; i < faces.shape(0); ++i)
        out.push_back(net.predict(std::span<float const, 2304>(faces.data() + i * 2304, 2304)));
    return out;
}

template <class Net>
bool same(xt::xtensor<float, 2> const& p, std::vector<std::array<float, 7>> const& ref) {
    if (p.shape(0) != ref.size() || p.shape(1) != 7) return false;
    for (std::size_t i = 0; i < ref.size(); ++i)
        for (std::size_t k = 0; k < 7; ++k)
            if (p(i, k) != ref[i][k]) return false;
    return true;
}

}  // namespace

TEST_CASE("xtensor: predict takes (N,48,48,1), (N,48,48), (48,48,1), (48,48), lazy and column-major expressions") {
    auto net = std::make_unique<fast>();
    net->init(7);
    auto const faces = random_faces(5, 1);
    auto const ref = reference(*net, faces);

    xt::xtensor<float, 2> const p = mien::xtensor::predict(*net, faces);
    CHECK(p.shape(0) == 5);
    CHECK(p.shape(1) == 7);
    CHECK(same<fast>(p, ref));

    xt::xtensor<float, 3> const squeezed = xt::view(faces, xt::all(), xt::all(), xt::all(), 0);
    CHECK(same<fast>(mien::xtensor::predict(*net, squeezed), ref));

    xt::xtensor<float, 3> const one = xt::view(faces, 2, xt::all(), xt::all(), xt::all());
    auto const single = mien::xtensor::predict(*net, one);
    CHECK(single.shape(0) == 1);
    CHECK(same<fast>(single, {ref[2]}));
    CHECK(same<fast>(mien::xtensor::predict(*net, xt::view(faces, 2, xt::all(), xt::all(), 0)), {ref[2]}));

    // 8-bit pixels divided lazily: the expression is evaluated once, as the float faces.
    xt::xtensor<std::uint8_t, 4> pixels = xt::cast<std::uint8_t>(xt::round(faces * 255.0f));
    xt::xtensor<float, 4> const scaled = xt::cast<float>(pixels) / 255.0f;
    CHECK(same<fast>(mien::xtensor::predict(*net, xt::cast<float>(pixels) / 255.0f), reference(*net, scaled)));

    // A column-major copy and a dynamic-rank xarray give the same values in the same order.
    xt::xtensor<float, 4, xt::layout_type::column_major> const column = faces;
    CHECK(same<fast>(mien::xtensor::predict(*net, column), ref));
    xt::xarray<float> const dynamic = faces;
    CHECK(same<fast>(mien::xtensor::predict(*net, dynamic), ref));

    // Rows are probabilities.
    for (std::size_t i = 0; i < 5; ++i) CHECK(double(xt::sum(xt::row(p, i))()) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("xtensor: a face of the wrong shape names the accepted shapes and the one found") {
    auto net = std::make_unique<fast>();
    xt::xtensor<float, 3> const wrong = xt::zeros<float>({2, 47, 48});
    CHECK(error_of([&] { mien::xtensor::predict(*net, wrong); }) ==
          "mien::xtensor::predict: expected faces of shape (H, W, C) or (N, H, W, C), (H, W) or (N, H, W) with "
          "(H, W, C) = (48, 48, 1), found (2, 47, 48)");
    xt::xtensor<float, 1> const flat = xt::zeros<float>({2304});
    CHECK(error_of([&] { mien::xtensor::predict(*net, flat); }).ends_with("found (2304,)"));
}

TEST_CASE("xtensor: tensors are adaptors over the network's memory with their shapes") {
    auto net = std::make_unique<paper>();
    net->init(3);
    auto w = mien::xtensor::tensor<4>(*net, "00.conv2d.weight");
    CHECK(w.shape() == std::array<std::size_t, 4>{3, 3, 1, 32});
    CHECK(w.data() == net->parameters().data());
    // HWIO, C order: element (ky, kx, c, f) is at ((ky * 3 + kx) * 1 + c) * 32 + f.
    CHECK(w(1, 2, 0, 5) == net->parameters()[(1 * 3 + 2) * 32 + 5]);

    std::vector<float> face(2304, 0.5f);
    auto const before = net->predict(face);
    w(1, 1, 0, 5) += 1.0f;  // written through the adaptor: the network sees it
    CHECK(net->parameters()[(1 * 3 + 1) * 32 + 5] == w(1, 1, 0, 5));
    CHECK(net->predict(face) != before);

    auto mean = mien::xtensor::tensor<1>(*net, "01.batch_norm.running_mean");  // state, not a parameter
    CHECK(mean.shape(0) == 32);
    mean(3) = 0.25f;
    CHECK(mean.data() >= net->state().data());
    CHECK(mean.data() < net->state().data() + net->state().size());

    auto dense = mien::xtensor::tensor<2>(*net, "31.dense.weight");  // (2 * C3, Hd) = (In, Out)
    CHECK(dense.shape() == std::array<std::size_t, 2>{256, 128});

    paper const& frozen = *net;  // a const network gives a read-only adaptor of the same values
    auto const r = mien::xtensor::tensor<4>(frozen, "00.conv2d.weight");
    CHECK(r(1, 1, 0, 5) == w(1, 1, 0, 5));
}

TEST_CASE("xtensor: fixed_tensor has the shape in its type and writes the network") {
    auto net = std::make_unique<paper>();
    net->init(4);
    auto w = mien::xtensor::fixed_tensor<3, 3, 1, 32>(*net, "00.conv2d.weight");
    static_assert(std::is_same_v<fixed_shape_of<decltype(w)>::type, xt::fixed_shape<3, 3, 1, 32>>);
    CHECK(w.data() == net->parameters().data());
    auto const dynamic = mien::xtensor::tensor<4>(*net, "00.conv2d.weight");
    CHECK(w(2, 1, 0, 31) == dynamic(2, 1, 0, 31));
    w(2, 1, 0, 31) = 3.0f;
    CHECK(net->parameters()[(2 * 3 + 1) * 32 + 31] == 3.0f);
    CHECK(error_of([&] { mien::xtensor::fixed_tensor<3, 3, 1, 16>(*net, "00.conv2d.weight"); }) ==
          "mien::xtensor::fixed_tensor: 00.conv2d.weight has shape (3, 3, 1, 32), not the (3, 3, 1, 16) asked for");
    CHECK(error_of([&] { mien::xtensor::fixed_tensor<288, 32>(*net, "00.conv2d.weight"); }).ends_with("not the (288, 32) asked for"));
}

// Shapes found by the compiler from the network type alone.
static_assert(std::is_same_v<mien::xtensor::parameter_shape<0, paper>, xt::fixed_shape<3, 3, 1, 32>>);
static_assert(std::is_same_v<mien::xtensor::parameter_shape<0, fast>, xt::fixed_shape<3, 3, 1, 16>>);
static_assert(std::is_same_v<mien::xtensor::parameter_shape<1, paper>, xt::fixed_shape<32>>);  // batch-norm gamma
static_assert(mien::xtensor::parameter_count<paper> == 33);
static_assert(mien::tensor_count<paper> == 46);  // + running means and variances, the dropout rate

TEST_CASE("xtensor: parameter<I> is the I-th trainable tensor with its compile-time shape, writable") {
    auto net = std::make_unique<paper>();
    net->init(6);
    auto w = mien::xtensor::parameter<0>(*net);
    static_assert(std::is_same_v<fixed_shape_of<decltype(w)>::type, xt::fixed_shape<3, 3, 1, 32>>);
    // It holds the pointer itself, not a reference to a variable gone when parameter() returned.
    static_assert(std::is_same_v<decltype(w)::storage_type, xt::xbuffer_adaptor<float*, xt::no_ownership, std::allocator<float>>>);
    constexpr auto shape = fixed_shape_of<decltype(w)>::type{};
    static_assert(shape[0] == 3 && shape[3] == 32);
    CHECK(w.data() == net->parameters().data());

    // Every parameter: the shape and place run-time code (weights files) gives, the values there.
    auto const names = mien::named_tensors(*net);
    std::vector<mien::named_tensor> trainable;
    for (auto const& t : names)
        if (t.info.trainable) trainable.push_back(t);
    REQUIRE(trainable.size() == mien::xtensor::parameter_count<paper>);
    auto check = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        auto p = mien::xtensor::parameter<I>(*net);
        auto const& t = trainable[I].info;
        CHECK(std::size_t(p.dimension()) == t.rank);
        CHECK(std::equal(p.shape().begin(), p.shape().end(), t.dims.begin()));
        CHECK(p.data() == net->parameters().data() + t.offset);
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (check(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<mien::xtensor::parameter_count<paper>>{});

    // The last one is the classifier's bias: (7).
    auto bias = mien::xtensor::parameter<mien::xtensor::parameter_count<paper> - 1>(*net);
    static_assert(std::is_same_v<fixed_shape_of<decltype(bias)>::type, xt::fixed_shape<7>>);
    CHECK(trainable.back().name == "34.dense.bias");

    // Writes change what the network predicts: raising one class's bias raises its probability.
    std::vector<float> face(2304, 0.4f);
    auto const before = net->predict(face);
    bias(3) += 2.0f;
    auto const after = net->predict(face);
    CHECK(after[3] > before[3]);
    CHECK(after[0] < before[0]);
    w *= 0.0f;  // xtensor arithmetic on the view: the first convolution now sees nothing
    CHECK(std::all_of(net->parameters().begin(), net->parameters().begin() + 288, [](float v) { return v == 0.0f; }));
    CHECK(net->predict(face) != after);

    paper const& frozen = *net;  // a const network gives a read-only adaptor
    auto const r = mien::xtensor::parameter<mien::xtensor::parameter_count<paper> - 1>(frozen);
    static_assert(std::is_const_v<std::remove_pointer_t<decltype(r.data())>>);
    CHECK(r(3) == bias(3));
}

TEST_CASE("xtensor: tensor<\"name\"> finds parameters and state by file name at compile time") {
    auto net = std::make_unique<fast>();
    net->init(8);
    auto w = mien::xtensor::tensor<"00.conv2d.weight">(*net);
    static_assert(std::is_same_v<fixed_shape_of<decltype(w)>::type, xt::fixed_shape<3, 3, 1, 16>>);
    CHECK(w.data() == net->parameters().data());
    auto mean = mien::xtensor::tensor<"01.batch_norm.running_mean">(*net);  // state
    static_assert(std::is_same_v<fixed_shape_of<decltype(mean)>::type, xt::fixed_shape<16>>);
    auto const dynamic = mien::xtensor::tensor<1>(*net, "01.batch_norm.running_mean");
    CHECK(mean.data() == dynamic.data());
    mean(2) = 0.75f;
    CHECK(dynamic(2) == 0.75f);
    auto dense = mien::xtensor::tensor<"31.dense.weight">(*net);
    static_assert(std::is_same_v<fixed_shape_of<decltype(dense)>::type, xt::fixed_shape<128, 64>>);
    CHECK(dense.data() == mien::xtensor::tensor<2>(*net, "31.dense.weight").data());
}

TEST_CASE("xtensor: a wrong rank or name says what exists") {
    auto net = std::make_unique<fast>();
    CHECK(error_of([&] { mien::xtensor::tensor<2>(*net, "00.conv2d.weight"); }) ==
          "mien::xtensor::tensor: 00.conv2d.weight has rank 4 (shape (3, 3, 1, 16)), not the 2 asked for");
    std::string const message = error_of([&] { mien::xtensor::tensor<1>(*net, "00.conv2d.bias"); });
    CHECK(message.starts_with("mien::xtensor::tensor: the network has no tensor '00.conv2d.bias'; it has: 00.conv2d.weight, "));
}

TEST_CASE("xtensor: for_each_tensor visits every tensor once, in file order, writable") {
    auto net = std::make_unique<fast>();
    net->init(5);
    auto const names = mien::named_tensors(*net);
    std::size_t index = 0, values = 0, rate_at = 0;
    mien::xtensor::for_each_tensor(*net, [&](std::string_view name, auto& view) {
        REQUIRE(index < names.size());
        CHECK(name == names[index].name);
        CHECK(view.dimension() == names[index].info.rank);
        values += view.size();
        if (name == "33.dropout.rate") {
            view(0) = 0.0f;
            rate_at = names[index].info.offset;
        }
        ++index;
    });
    CHECK(index == names.size());
    CHECK(values == fast::params + fast::state_size);
    CHECK(net->state()[rate_at] == 0.0f);
}
