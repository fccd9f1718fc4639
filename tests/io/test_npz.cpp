// NumPy interchange: mien's .npz round-trips, an .npz written by NumPy itself imports (with its
// Fortran-order and float64 arrays), and bad archives fail with the array named.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <mien/io/npz.hpp>
#include <mien/models/paper.hpp>

#include "support/io_test.hpp"
#include "support/skip.hpp"

#ifndef MIEN_TEST_FIXTURES
#define MIEN_TEST_FIXTURES (std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures")
#endif

namespace {

using mien::testing::error_of;
using mien::testing::same_tensors;

using fast = mien::models::fast;
// The network of tests/fixtures/make_tiny_npz.py.
using tiny = mien::network<mien::input<4, 4, 2>, mien::conv2d<3, 3, mien::same, 1, mien::with_bias>, mien::batch_norm,
                           mien::relu, mien::depthwise_conv2d<3>, mien::global_avg_pool, mien::dense<2>>;

// The byte offset of the first central directory entry of an archive we wrote.
std::size_t central_directory(std::vector<std::byte> const& bytes) {
    mien::detail::byte_reader end(bytes, bytes.size() - 22 + 16);
    return end.u32();
}

}  // namespace

TEST_CASE("npz: save, load into a fresh network -> bit-identical tensors and predictions") {
    mien::testing::temp_dir dir;
    auto const path = dir / "fast.npz";
    auto a = std::make_unique<fast>();
    a->init(1);
    a->state()[0] = 0.5f;
    mien::save_npz(*a, path);
    auto b = std::make_unique<fast>();
    b->init(2);
    mien::npz_result const r = mien::load_npz(*b, path);
    CHECK(r.unused.empty());
    CHECK(same_tensors(*a, *b));
    std::vector<float> x(fast::inputs, 0.25f);
    auto const pa = a->predict(x);
    CHECK(std::memcmp(pa.data(), b->predict(x).data(), sizeof pa) == 0);

    // Every tensor is an array of its name, shape and values.
    auto const arrays = mien::read_npz(path);
    CHECK(arrays.size() == 46);
    auto const& w = arrays.at("00.conv2d.weight");
    CHECK(w.shape == std::vector<std::size_t>{3, 3, 1, 16});
    CHECK(w.values[5] == double(a->parameters()[5]));
    CHECK(arrays.at("01.batch_norm.running_mean").values[0] == 0.5);
    CHECK(arrays.at("33.dropout.rate").shape == std::vector<std::size_t>{1});
}

TEST_CASE("npz: the .npy headers are byte for byte what np.save writes") {
    // Copied from np.save(f, np.zeros(shape, np.float32)) with NumPy 1.24.
    std::string const magic("\x93NUMPY\x01\x00v\x00", 10);
    CHECK(mien::detail::npy_header(std::vector<std::size_t>{3, 3, 1, 32}) ==
          magic + "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3, 1, 32), }" + std::string(51, ' ') + "\n");
    CHECK(mien::detail::npy_header(std::vector<std::size_t>{7}) ==
          magic + "{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }" + std::string(60, ' ') + "\n");
}

TEST_CASE("npz: an archive written by NumPy imports, and computes NumPy's logits") {
    auto const fixture = MIEN_TEST_FIXTURES / "tiny_numpy.npz";
    tiny net;
    mien::npz_result const r = mien::load_npz(net, fixture);
    CHECK(r.unused == std::vector<std::string>{"expected_logits", "input"});

    // The values make_tiny_npz.py wrote: element j of tensor k, in C order.
    std::size_t k = 0;
    net.for_each_tensor([&](mien::tensor_info const& t) {
        float const* data = (t.trainable ? net.parameters().data() : net.state().data()) + t.offset;
        for (std::size_t j = 0; j < t.size(); ++j) {
            double v = double(int((j * 7 + k * 3) % 17) - 8) / 16.0;
            if (t.name == "running_var") v = std::abs(v) + 0.5;
            REQUIRE_MESSAGE(double(data[j]) == v, mien::tensor_file_name<tiny>(t) << "[" << j << "]");
        }
        ++k;
    });
    CHECK(k == 9);

    auto const arrays = mien::read_npz(fixture);
    std::vector<float> const x(arrays.at("input").values.begin(), arrays.at("input").values.end());
    auto const& expected = arrays.at("expected_logits").values;
    net.predict(x);
    for (std::size_t i = 0; i < 2; ++i) CHECK(double(net.logits()[i]) == doctest::Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("npz: wrong shape, missing array, compressed and corrupted entries") {
    auto paper = std::make_unique<mien::models::paper<>>();
    auto const bytes = mien::encode_npz(*paper);
    auto small = std::make_unique<fast>();
    small->init(3);
    std::vector<float> const before(small->parameters().begin(), small->parameters().end());
    CHECK(error_of([&] { mien::decode_npz(*small, bytes, "paper.npz"); }) ==
          "paper.npz: 00.conv2d.weight: file shape (3,3,1,32) != model shape (3,3,1,16)");
    CHECK(std::equal(before.begin(), before.end(), small->parameters().begin()));

    using two = mien::network<mien::input<4, 4, 1>, mien::global_avg_pool, mien::dense<3>>;
    using three = mien::network<mien::input<4, 4, 1>, mien::global_avg_pool, mien::dense<3>, mien::dense<2>>;
    three bigger;
    CHECK(error_of([&] { mien::decode_npz(bigger, mien::encode_npz(two{})); }) ==
          "<memory>: missing array 02.dense.weight (model shape (3,2))");

    // Mark the first entry deflated, as np.savez_compressed would: its stored bytes are not a
    // deflate stream (with zlib), or a compressed entry is refused (without).
    auto compressed = mien::encode_npz(two{});
    compressed[central_directory(compressed) + 10] = std::byte{8};
#if defined(MIEN_WITH_ZLIB)
    CHECK(error_of([&] { mien::decode_npz(bigger, compressed, "c.npz"); }).starts_with(
        "c.npz: 01.dense.weight: cannot inflate the compressed entry: "));
#else
    CHECK(error_of([&] { mien::decode_npz(bigger, compressed, "c.npz"); }).starts_with(
        "c.npz: 01.dense.weight is compressed (ZIP method 8); this build reads stored entries only"));
#endif
    compressed[central_directory(compressed) + 10] = std::byte{12};  // bzip2
#if defined(MIEN_WITH_ZLIB)
    CHECK(error_of([&] { mien::decode_npz(bigger, compressed, "c.npz"); }) ==
          "c.npz: 01.dense.weight: ZIP method 12 is not supported (expected 0, stored, or 8, deflate)");
#endif

    auto corrupted = mien::encode_npz(two{});
    std::size_t const first_value = 30 + std::strlen("01.dense.weight.npy") + 128;  // local header, name, .npy header
    corrupted[first_value] ^= std::byte{4};
    two target;
    CHECK(error_of([&] { mien::decode_npz(target, corrupted, "x.npz"); }) ==
          "x.npz: 01.dense.weight: CRC-32 mismatch (the file is corrupted)");

    std::vector<std::byte> junk(100, std::byte{7});
    CHECK(error_of([&] { mien::decode_npz(bigger, junk, "j.npz"); }) == "j.npz: not a ZIP/.npz file (no end of central directory)");
}

TEST_CASE("npz: NumPy reads what mien writes (skipped without /usr/bin/python3 and NumPy)") {
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        MIEN_SKIP_TEST("NumPy not available (/usr/bin/python3 -c 'import numpy' failed)");
    }
    mien::testing::temp_dir dir;
    auto const path = dir / "tiny.npz";
    tiny net;
    net.init(4);
    mien::save_npz(net, path);
    // The bits of one weight travel as an integer: no decimal rounding in the comparison.
    std::uint32_t bits;
    std::memcpy(&bits, &net.parameters()[1], 4);
    std::string const check =
        "import numpy as np, sys; d = np.load(sys.argv[1]); "
        "assert sorted(d.files)[0] == '00.conv2d.bias', d.files; "
        "w = d['00.conv2d.weight']; assert w.dtype == np.float32 and w.shape == (3, 3, 2, 3); "
        "assert d['05.dense.weight'].shape == (3, 2); "
        "assert w.ravel()[1].view(np.uint32) == int(sys.argv[2])";
    std::string const command = "/usr/bin/python3 -c \"" + check + "\" " + path.string() + " " + std::to_string(bits);
    CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("npz: corrupted or cut archives raise mien::error or load, never crash") {
    using two = mien::network<mien::input<4, 4, 1>, mien::global_avg_pool, mien::dense<3>>;
    auto const good = mien::encode_npz(two{});
    two net;
    std::size_t caught = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bytes = good;
        bytes[i] ^= std::byte{0x5A};
        caught += !error_of([&] { mien::decode_npz(net, bytes); }).empty();
        bytes.assign(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(i));
        CHECK_MESSAGE(!error_of([&] { mien::decode_npz(net, bytes); }).empty(), "length ", i);
    }
    CHECK(caught > good.size() * 3 / 4);  // what ZIP ignores (timestamps, attributes) may pass
}

#if defined(MIEN_WITH_ZLIB)
TEST_CASE("npz: an np.savez_compressed archive loads the same tensors and gives NumPy's logits (zlib)") {
    auto const fixture = MIEN_TEST_FIXTURES / "tiny_numpy_compressed.npz";
    auto const bytes = mien::detail::read_file(fixture, "test");
    auto const entries = mien::detail::read_zip(bytes, "c.npz");
    REQUIRE(entries.size() == 11);
    for (auto const& e : entries) CHECK_MESSAGE(e.method == 8, e.name);  // really deflated

    tiny stored, deflated;
    mien::load_npz(stored, MIEN_TEST_FIXTURES / "tiny_numpy.npz");
    mien::npz_result const r = mien::load_npz(deflated, fixture);
    CHECK(r.unused == std::vector<std::string>{"expected_logits", "input"});
    CHECK(same_tensors(stored, deflated));

    auto const arrays = mien::read_npz(fixture);
    std::vector<float> const x(arrays.at("input").values.begin(), arrays.at("input").values.end());
    auto const& expected = arrays.at("expected_logits").values;
    deflated.predict(x);
    for (std::size_t i = 0; i < 2; ++i) CHECK(double(deflated.logits()[i]) == doctest::Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("npz: damaged deflated entries fail naming the array (zlib)") {
    auto const good = mien::detail::read_file(MIEN_TEST_FIXTURES / "tiny_numpy_compressed.npz", "test");
    auto const first = mien::detail::read_zip(good, "c.npz").front();
    std::size_t const data_at = std::size_t(first.data.data() - good.data());
    std::size_t const central = central_directory(good);
    tiny net;

    // A cut deflate stream: the entry's compressed size shortened in both headers.
    auto cut = good;
    std::size_t const packed = first.data.size();
    for (std::size_t at : {std::size_t(18), central + 20}) {
        mien::detail::byte_writer w;
        w.u32(std::uint32_t(packed / 2));
        std::copy(w.bytes().begin(), w.bytes().end(), cut.begin() + static_cast<std::ptrdiff_t>(at));
    }
    CHECK(error_of([&] { mien::decode_npz(net, cut, "c.npz"); }) ==
          "c.npz: 00.conv2d.weight: cannot inflate the compressed entry: the deflate stream is cut short");

    // A claimed size deflate cannot reach: refused before allocating it.
    auto huge = good;
    huge[central + 24 + 3] = std::byte{0x7F};
    CHECK(error_of([&] { mien::decode_npz(net, huge, "c.npz"); }).starts_with("c.npz: 00.conv2d.weight: corrupt ZIP: "));

    // A smaller claimed size: the stream is longer than the directory says.
    auto shorter = good;
    shorter[central + 24] = std::byte{static_cast<unsigned char>(std::to_integer<unsigned>(good[central + 24]) - 1)};
    CHECK(error_of([&] { mien::decode_npz(net, shorter, "c.npz"); }).starts_with(
        "c.npz: 00.conv2d.weight: cannot inflate the compressed entry: it inflates to more than the "));

    // A single-bit flip in the deflated bytes is caught by zlib or by the CRC-32. Not tested: the
    // last byte, whose high bits only pad the final block (zlib ignores them).
    std::size_t caught = 0;
    for (std::size_t i = data_at; i + 1 < data_at + packed; ++i) {
        auto bytes = good;
        bytes[i] ^= std::byte{0x10};
        std::string const message = error_of([&] { mien::decode_npz(net, bytes, "c.npz"); });
        caught += message.starts_with("c.npz: 00.conv2d.weight: ");
    }
    CHECK(caught == packed - 1);
}
#endif
