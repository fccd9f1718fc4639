// The topology fingerprint is a compile-time constant of the network type: these checks are
// static_asserts, so a regression fails the build. The TEST_CASEs cover the run-time parts
// (description text, tensor names).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include <mien/io/fingerprint.hpp>
#include <mien/models/paper.hpp>

namespace {

using mien::topology_fingerprint;
using paper = mien::models::paper<>;
using fast = mien::models::fast;

template <class T>
using small = mien::basic_network<T, mien::input<8, 8, 1>, mien::conv2d<4, 3>, mien::relu, mien::global_avg_pool, mien::dense<3>>;
using small_extra_relu =
    mien::network<mien::input<8, 8, 1>, mien::conv2d<4, 3>, mien::relu, mien::relu, mien::global_avg_pool, mien::dense<3>>;
using small_valid =
    mien::network<mien::input<8, 8, 1>, mien::conv2d<4, 3, mien::valid>, mien::relu, mien::global_avg_pool, mien::dense<3>>;

// Different networks, different fingerprints.
static_assert(topology_fingerprint<paper> != topology_fingerprint<fast>);
static_assert(topology_fingerprint<paper> != topology_fingerprint<mien::models::paper<32, 64, 128, 64, 128, 8>>);
static_assert(topology_fingerprint<small<float>> != topology_fingerprint<small_extra_relu>);  // a layer without parameters
static_assert(topology_fingerprint<small<float>> != topology_fingerprint<small_valid>);       // same params, other shapes

// Stable: the same topology spelled again, or in double, gives the same value...
static_assert(topology_fingerprint<paper> == topology_fingerprint<mien::models::paper<32, 64, 128, 64, 128, 7, 48, 48, 1>>);
static_assert(topology_fingerprint<small<float>> == topology_fingerprint<small<double>>);
// ...and the value itself is pinned: saved files carry it, so it must not drift between
// compilers or releases. Changing the recipe means changing "mien topology v2" and these.
static_assert(topology_fingerprint<paper> == 0x15217a4e0bcdec28ull);
static_assert(topology_fingerprint<fast> == 0x85e608c56bf186afull);
// Files written before settings were hashed carry the v1 values, which stay recognisable.
static_assert(mien::legacy_topology_fingerprint_v1<paper> == 0xfdeec9c793038900ull);
static_assert(mien::legacy_topology_fingerprint_v1<fast> == 0xf35dfdb5ded03003ull);

// Settings count: the same shapes and counts, other template arguments, other fingerprints.
template <class Pool>
using pooled = mien::network<mien::input<7, 7, 2>, Pool, mien::global_avg_pool, mien::dense<3>>;
static_assert(topology_fingerprint<pooled<mien::max_pool<2>>> != topology_fingerprint<pooled<mien::max_pool<3, 2>>>);
static_assert(mien::legacy_topology_fingerprint_v1<pooled<mien::max_pool<2>>> ==
              mien::legacy_topology_fingerprint_v1<pooled<mien::max_pool<3, 2>>>);  // what v1 missed
template <bool Bias>
using biased = mien::network<mien::input<4, 4, 1>, mien::conv2d<2, 1, mien::valid, 1, Bias>, mien::dense<3>>;
// (a bias changes the parameter count too, so v1 saw that one; stride and padding below it did not)
static_assert(topology_fingerprint<biased<true>> != topology_fingerprint<biased<false>>);
using strided = mien::network<mien::input<5, 5, 1>, mien::conv2d<2, 3, mien::valid, 2>, mien::dense<3>>;  // 5x5 -> 2x2
using padded = mien::network<mien::input<5, 5, 1>, mien::conv2d<2, 5, mien::same, 3>, mien::dense<3>>;   // 5x5 -> 2x2
static_assert(std::is_same_v<strided::output_shape_type, padded::output_shape_type>);
static_assert(mien::legacy_topology_fingerprint_v1<strided> != mien::legacy_topology_fingerprint_v1<padded>);  // kernel size in params
static_assert(topology_fingerprint<strided> != topology_fingerprint<padded>);

}  // namespace

TEST_CASE("fingerprint: the description has one line per leaf layer") {
    std::string const text = mien::topology_description<paper>();
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    CHECK(lines == 35);  // print_cost_table rows 0 to 34
    CHECK(text.starts_with("00 conv2d 48x48x1 -> 48x48x32 params 288 state 0 settings 32,3,1,1,0\n"));
    CHECK(text.find("\n02 relu 48x48x32 -> 48x48x32 params 0 state 0\n") != std::string::npos);  // no settings
    CHECK(text.find("34 dense 1x1x128 -> 1x1x7 params 903 state 0 settings 7,1\n") != std::string::npos);
}

TEST_CASE("fingerprint: tensor names are <zero-padded layer index>.<layer>.<tensor>") {
    auto net = std::make_unique<fast>();
    auto const tensors = mien::named_tensors(*net);
    REQUIRE(tensors.size() == 46);
    CHECK(tensors.front().name == "00.conv2d.weight");
    CHECK(tensors[3].name == "01.batch_norm.running_mean");
    CHECK_FALSE(tensors[3].info.trainable);
    CHECK(tensors.back().name == "34.dense.bias");

    small<float> tiny;
    auto const few = mien::named_tensors(tiny);
    REQUIRE(few.size() == 3);
    CHECK(few[1].name == "03.dense.weight");
}
