// The .mien weights format: round trips, and every way a file can be wrong is caught before
// the network is touched, with a message that names the problem.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <csignal>
#include <cstdio>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>

#include "support/io_test.hpp"
#include "support/skip.hpp"

#if __has_include(<sys/resource.h>)
#include <sys/resource.h>
#define MIEN_TEST_RLIMIT 1
#else
#define MIEN_TEST_RLIMIT 0
#endif

namespace {

using mien::testing::error_of;
using mien::testing::snapshot;

using paper = mien::models::paper<>;
using fast = mien::models::fast;
// Same tensor shapes, another topology (an extra relu shifts the layer indices).
using three = mien::network<mien::input<4, 4, 1>, mien::conv2d<2, 3>, mien::global_avg_pool, mien::dense<3>>;
using three_relu = mien::network<mien::input<4, 4, 1>, mien::conv2d<2, 3>, mien::relu, mien::global_avg_pool, mien::dense<3>>;
using five = mien::network<mien::input<4, 4, 1>, mien::conv2d<2, 3>, mien::global_avg_pool, mien::dense<3>, mien::dense<3>>;

template <class Net>
std::unique_ptr<Net> make(std::uint64_t seed) {
    auto net = std::make_unique<Net>();
    net->init(seed);
    return net;
}

std::vector<std::byte> file_bytes(std::filesystem::path const& path) { return mien::detail::read_file(path, "test"); }

void write_bytes(std::filesystem::path const& path, std::vector<std::byte> const& bytes) {
    mien::detail::write_file_atomically(path, bytes, "test");
}

// Makes the size field and the trailing CRC-32 of an edited .mien buffer consistent again, so
// that the reader gets past the checksum to what the test is about.
void reseal(std::vector<std::byte>& bytes) {
    std::uint32_t const crc = mien::detail::crc32(std::span<std::byte const>(bytes).first(bytes.size() - 4));
    for (std::size_t i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = std::byte(static_cast<unsigned char>(crc >> (8 * i)));
}

// The byte offset of the first value of the file's tensor `name`.
std::size_t data_offset(std::vector<std::byte> const& bytes, std::string const& name) {
    auto const file = mien::detail::parse_file(bytes, "test");
    for (auto const& t : file.tensors)
        if (t.name == name) return t.data_at;
    FAIL("no tensor " << name);
    return 0;
}

template <class Net>
std::vector<float> some_input() {
    std::vector<float> x(Net::inputs);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float((i * 37) % 101) / 100.0f;
    return x;
}

}  // namespace

TEST_CASE("weights: save, load into a fresh network -> bit-identical tensors and predictions") {
    mien::testing::temp_dir dir;
    auto const path = dir / "paper.mien";
    auto a = make<paper>(1);
    a->state()[0] = 0.25f;  // a running mean that init() would not give back
    mien::save_weights(*a, path, {{"epoch", "7"}, {"best_accuracy", "0.6931"}});
    CHECK_FALSE(std::filesystem::exists(mien::detail::temp_path_for(path)));

    auto b = make<paper>(2);
    REQUIRE(snapshot(*a) != snapshot(*b));
    mien::load_result const r = mien::load_weights(*b, path);
    CHECK(snapshot(*a) == snapshot(*b));
    CHECK(r.topology_matches);
    CHECK(r.warning.empty());
    CHECK(r.file_fingerprint == mien::topology_fingerprint<paper>);
    CHECK(r.metadata.at("epoch") == "7");
    CHECK(r.metadata.at("best_accuracy") == "0.6931");
    CHECK(r.file_topology == mien::topology_description<paper>());

    auto const x = some_input<paper>();
    auto const pa = a->predict(x);
    auto const pb = b->predict(x);
    CHECK(std::memcmp(pa.data(), pb.data(), sizeof pa) == 0);

    // The in-memory form is the file.
    CHECK(mien::encode_weights(*a, {{"epoch", "7"}, {"best_accuracy", "0.6931"}}) == file_bytes(path));
}

TEST_CASE("weights: the header holds magic, version, size, kind, fingerprint") {
    auto net = make<three>(3);
    auto const bytes = mien::encode_weights(*net);
    mien::detail::byte_reader r(bytes);
    CHECK(std::string(reinterpret_cast<char const*>(bytes.data()), 4) == "MIEN");
    r.skip(4);
    CHECK(r.u32() == mien::weights_format_version);
    CHECK(r.u64() == bytes.size());
    CHECK(r.u32() == 1);  // weights
    CHECK(r.u64() == mien::topology_fingerprint<three>);
    CHECK(mien::detail::crc32(std::span(bytes).first(bytes.size() - 4)) ==
          mien::detail::byte_reader(bytes, bytes.size() - 4).u32());
}

TEST_CASE("weights: a corrupted byte -> checksum mismatch, network unchanged") {
    mien::testing::temp_dir dir;
    auto const path = dir / "fast.mien";
    auto a = make<fast>(1);
    mien::save_weights(*a, path);
    auto bytes = file_bytes(path);
    bytes[bytes.size() / 2] ^= std::byte{0x10};  // inside the float data
    write_bytes(path, bytes);

    auto b = make<fast>(2);
    auto const before = snapshot(*b);
    std::string const message = error_of([&] { mien::load_weights(*b, path); });
    CHECK(message.find("checksum mismatch") != std::string::npos);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(snapshot(*b) == before);
}

TEST_CASE("weights: a truncated file -> truncation error naming the tensor") {
    auto a = make<fast>(1);
    auto bytes = mien::encode_weights(*a);
    bytes.resize(5640);  // 5000 + the 64 bytes of the mien.labels entry + the layers' settings in the description (576)
    auto b = make<fast>(2);
    auto const before = snapshot(*b);
    std::string const message = error_of([&] { mien::decode_weights(*b, bytes, "cut.mien"); });
    CHECK(message.find("cut.mien: truncated file: 5640 of ") != std::string::npos);
    CHECK(message.find("inside the data of tensor 10 (06.batch_norm.running_var)") != std::string::npos);
    CHECK(snapshot(*b) == before);

    bytes.resize(11);
    CHECK(error_of([&] { mien::decode_weights(*b, bytes, "cut.mien"); }) ==
          "cut.mien: truncated file: 11 bytes, the header alone needs 16");
    bytes = mien::encode_weights(*a);
    bytes.pop_back();
    CHECK(error_of([&] { mien::decode_weights(*b, bytes, "cut.mien"); }).find("inside the checksum") != std::string::npos);
}

TEST_CASE("weights: wrong topology -> the first differing tensor with both shapes") {
    mien::testing::temp_dir dir;
    auto const path = dir / "paper.mien";
    mien::save_weights(*make<paper>(1), path);
    auto small = make<fast>(2);
    auto const before = snapshot(*small);
    std::string const message = error_of([&] { mien::load_weights(*small, path); });
    CHECK(message == path.string() + ": 00.conv2d.weight: file shape (3,3,1,32) != model shape (3,3,1,16)");
    CHECK(snapshot(*small) == before);
}

TEST_CASE("weights: a tensor count mismatch is named") {
    auto const bytes = mien::encode_weights(*make<three>(1));
    auto net = make<five>(2);
    CHECK(error_of([&] { mien::decode_weights(*net, bytes); }) ==
          "<memory>: tensor count mismatch: file has 3 tensors, model has 5 (first unmatched: model 03.dense.weight)");
    auto const longer = mien::encode_weights(*net);
    auto shorter = make<three>(3);
    CHECK(error_of([&] { mien::decode_weights(*shorter, longer); }).find("file has 5 tensors, model has 3") != std::string::npos);
}

TEST_CASE("weights: same shapes, other fingerprint -> loads with a warning, or fails when exact") {
    auto a = make<three>(1);
    auto const bytes = mien::encode_weights(*a);
    auto b = make<three_relu>(2);
    mien::load_result const r = mien::decode_weights(*b, bytes);
    CHECK_FALSE(r.topology_matches);
    CHECK(r.warning.find("topology fingerprint mismatch") != std::string::npos);
    CHECK(r.warning.find("file tensor 02.dense.weight loaded into 03.dense.weight") != std::string::npos);
    CHECK(std::equal(a->parameters().begin(), a->parameters().end(), b->parameters().begin()));

    auto c = make<three_relu>(3);
    auto const before = snapshot(*c);
    std::string const message = error_of([&] { mien::decode_weights(*c, bytes, "x.mien", mien::topology_check::exact); });
    CHECK(message.starts_with("x.mien: topology fingerprint mismatch"));
    CHECK(message.find("00 conv2d 4x4x1 -> 4x4x2") != std::string::npos);  // the file's topology
    CHECK(snapshot(*c) == before);
}

TEST_CASE("weights: bad magic, unsupported version, missing file") {
    mien::testing::temp_dir dir;
    auto const path = dir / "not_weights.mien";
    auto net = make<three>(1);
    auto bytes = mien::encode_weights(*net);
    bytes[0] = std::byte{'P'};
    write_bytes(path, bytes);
    CHECK(error_of([&] { mien::load_weights(*net, path); }) == path.string() + ": not a mien file (bad magic)");

    bytes = mien::encode_weights(*net);
    bytes[4] = std::byte{2};
    CHECK(error_of([&] { mien::decode_weights(*net, bytes, "v2.mien"); }) ==
          "v2.mien: unsupported format version: expected 1, found 2");

    std::string const missing = error_of([&] { mien::load_weights(*net, dir / "nothing.mien"); });
    CHECK(missing.starts_with("load_weights: cannot open "));
    CHECK(missing.find("No such file") != std::string::npos);
}

TEST_CASE("weights: reserved metadata keys are refused") {
    auto net = make<three>(1);
    CHECK(error_of([&] { mien::encode_weights(*net, {{"mien.rng.state", "1"}}); }) ==
          "save_weights: metadata key 'mien.rng.state' is reserved (keys starting with 'mien.')");
}

TEST_CASE("weights: a failed save leaves the old file byte-identical") {
    mien::testing::temp_dir dir;
    auto const path = dir / "model.mien";
    mien::save_weights(*make<three>(1), path);
    auto const old = file_bytes(path);

    // A directory where the temporary file should go: opening it for writing fails.
    std::filesystem::create_directory(mien::detail::temp_path_for(path));
    std::string const message = error_of([&] { mien::save_weights(*make<three>(2), path); });
    CHECK(message.starts_with("save_weights: cannot create " + mien::detail::temp_path_for(path).string()));
    CHECK(file_bytes(path) == old);
    std::filesystem::remove(mien::detail::temp_path_for(path));

    // A read-only directory (root ignores permissions: then there is nothing to check).
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    if (std::FILE* probe = std::fopen((dir / "probe").string().c_str(), "wb")) {
        std::fclose(probe);
        std::filesystem::remove(dir / "probe");
    } else {
        CHECK(error_of([&] { mien::save_weights(*make<three>(2), path); }).find("Permission denied") != std::string::npos);
        CHECK(file_bytes(path) == old);
    }
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);

    mien::save_weights(*make<three>(2), path);  // and a good save replaces it
    CHECK(file_bytes(path) != old);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
}

#if MIEN_IO_POSIX
TEST_CASE("weights: a save removes the temporary files that killed writers left, and only theirs") {
    mien::testing::temp_dir dir;
    auto const path = dir / "model.mien";
    auto touch = [](std::filesystem::path const& p) { write_bytes(p, {std::byte{1}}); };
    // 999999999 is above any Linux pid_max (at most 2^22): no process has it, as after a SIGKILL.
    auto const dead = dir / "model.mien.tmp-999999999";
    auto const alive = dir / ("model.mien.tmp-" + std::to_string(static_cast<long long>(::getppid())));  // our parent lives
    auto const not_a_pid = dir / "model.mien.tmp-backup";
    auto const other_file = dir / "other.mien.tmp-999999999";
    for (auto const& p : {dead, alive, not_a_pid, other_file}) touch(p);

    mien::save_weights(*make<three>(1), path);
    CHECK_FALSE(std::filesystem::exists(dead));
    CHECK(std::filesystem::exists(alive));
    CHECK(std::filesystem::exists(not_a_pid));
    CHECK(std::filesystem::exists(other_file));
    CHECK(mien::load_weights(*make<three>(2), path).topology_matches);
}
#endif

TEST_CASE("weights: every single-byte corruption and every truncation is caught") {
    auto a = make<three>(1);
    auto const good = mien::encode_weights(*a);
    auto b = make<three>(2);
    auto const before = snapshot(*b);
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bytes = good;
        bytes[i] ^= std::byte{0x5A};
        CHECK_MESSAGE(!error_of([&] { mien::decode_weights(*b, bytes); }).empty(), "byte ", i);
        bytes.assign(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(i));
        CHECK_MESSAGE(!error_of([&] { mien::decode_weights(*b, bytes); }).empty(), "length ", i);
    }
    CHECK(snapshot(*b) == before);
}

TEST_CASE("weights: NaN or infinity in a tensor is refused, naming the tensor and the value; the network is unchanged") {
    auto a = make<three>(1);
    auto const good = mien::encode_weights(*a);
    struct bad { char const* tensor; std::size_t index; float value; char const* seen; };
    float const nan = std::bit_cast<float>(0x7FC00000u), inf = std::bit_cast<float>(0x7F800000u);
    for (bad const& b : {bad{"00.conv2d.weight", 5, nan, "NaN"}, bad{"02.dense.bias", 2, inf, "+inf"},
                         bad{"02.dense.weight", 0, -inf, "-inf"}}) {
        CAPTURE(b.tensor);
        auto bytes = good;
        std::uint32_t const bits = std::bit_cast<std::uint32_t>(b.value);
        std::size_t const at = data_offset(bytes, b.tensor) + 4 * b.index;
        for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = std::byte(static_cast<unsigned char>(bits >> (8 * i)));
        reseal(bytes);
        auto c = make<three>(2);
        auto const before = snapshot(*c);
        std::string const message = error_of([&] { mien::decode_weights(*c, bytes, "nan.mien"); });
        CHECK(message.starts_with(std::string("nan.mien: ") + b.tensor + ": value " + std::to_string(b.index) + " of "));
        CHECK(message.find(std::string(" is ") + b.seen + " (a weights file must hold finite numbers)") != std::string::npos);
        CHECK(snapshot(*c) == before);
    }
    // The largest finite float is a number like any other.
    auto bytes = good;
    std::size_t const at = data_offset(bytes, "02.dense.bias");
    std::uint32_t const max_bits = 0x7F7FFFFFu;
    for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = std::byte(static_cast<unsigned char>(max_bits >> (8 * i)));
    reseal(bytes);
    auto d = make<three>(3);
    CHECK(error_of([&] { mien::decode_weights(*d, bytes, "max.mien"); }).empty());
}

TEST_CASE("weights: the topology-mismatch message of the paper network is whole, not cut at 512 bytes") {
    // The paper network's weights with another fingerprint: an exact load lists the file's
    // whole topology, one row per layer, which is kilobytes (core/error.hpp sizes the message).
    auto net = make<paper>(1);
    auto bytes = mien::encode_weights(*net);
    bytes[20] ^= std::byte{0x5A};  // the fingerprint: magic 4, version 4, size 8, kind 4
    reseal(bytes);
    auto other = std::make_unique<paper>();
    std::string const message = error_of([&] { mien::decode_weights(*other, bytes, "p.mien", mien::topology_check::exact); });
    std::string const topology = mien::topology_description<paper>();
    REQUIRE(topology.size() > 1000);
    CHECK(message.size() > topology.size());
    CHECK(message.ends_with(topology));  // every row, the last one included
    CHECK(message.starts_with("p.mien: topology fingerprint mismatch"));
}

TEST_CASE("weights: a save that fills the disk (RLIMIT_FSIZE) fails with the reason and keeps the old file") {
#if MIEN_TEST_RLIMIT
    mien::testing::temp_dir dir;
    auto const path = dir / "model.mien";
    auto const first = make<paper>(1);
    mien::save_weights(*first, path);
    auto const old = file_bytes(path);

    // The process may write at most 100 KB per file from here on (a full disk, for this test);
    // SIGXFSZ would kill the process instead of failing the write, so it is ignored meanwhile.
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto const previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 100 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string const message = error_of([&] { mien::save_weights(*make<paper>(2), path); });
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);

    CHECK(message.starts_with("save_weights: cannot write " + mien::detail::temp_path_for(path).string()));
    CHECK(message.find("File too large") != std::string::npos);
    CHECK(file_bytes(path) == old);                              // the previous weights, byte for byte
    CHECK_FALSE(std::filesystem::exists(mien::detail::temp_path_for(path)));  // no half-written leftover
    auto loaded = std::make_unique<paper>();
    CHECK(mien::load_weights(*loaded, path).topology_matches);
    CHECK(snapshot(*loaded) == snapshot(*first));
#else
    MIEN_SKIP_TEST("no RLIMIT_FSIZE on this system");
#endif
}

TEST_CASE("weights: class names travel with the weights; files without them get the default of their output count") {
    using fast8 = mien::models::paper<16, 32, 64, 32, 64, 8>;
    auto a = make<fast>(1);
    // Written by default: the FER2013 names for 7 outputs.
    auto r = mien::decode_weights(*make<fast>(2), mien::encode_weights(*a), "a.mien");
    CHECK(r.labels == std::vector<std::string>{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"});
    CHECK(r.metadata.count("mien.labels") == 0);  // reserved keys stay out of the user's metadata
    // 8 outputs: FER+'s names by default, or the caller's.
    auto e = make<fast8>(1);
    CHECK(mien::decode_weights(*make<fast8>(2), mien::encode_weights(*e), "e.mien").labels ==
          std::vector<std::string>{"neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"});
    std::vector<std::string> const mine{"n", "h", "su", "sa", "an", "d", "f", "c"};
    CHECK(mien::decode_weights(*make<fast8>(2), mien::encode_weights(*e, {}, mine), "e.mien").labels == mine);
    // A file written before names were stored (no mien.labels) still loads, with the defaults.
    std::vector<mien::detail::tensor_view<float>> tensors;
    mien::detail::append_network(*a, tensors);
    auto const old = mien::detail::encode_file(mien::detail::file_content::weights, mien::topology_fingerprint<fast>,
                                               mien::topology_description<fast>(), {}, tensors);
    CHECK(mien::decode_weights(*make<fast>(2), old, "old.mien").labels == r.labels);
    // Bad names are refused on save, and a stored list of the wrong length on load.
    std::vector<std::string> const seven_bad{"a", "b", "c,d", "e", "f", "g", "h"};
    CHECK(error_of([&] { mien::encode_weights(*a, {}, seven_bad); }) ==
          "save_weights: class name 2 'c,d' is empty or holds a comma or line break");
    CHECK(error_of([&] { mien::encode_weights(*a, {}, mine); }) == "save_weights: 8 class names for a model with 7 outputs");
    auto const three_names = mien::detail::encode_file(mien::detail::file_content::weights, mien::topology_fingerprint<fast>,
                                                       mien::topology_description<fast>(), {{"mien.labels", "x\ny\nz"}}, tensors);
    CHECK(error_of([&] { mien::decode_weights(*make<fast>(2), three_names, "three.mien"); }) ==
          "three.mien: the file names 3 classes (mien.labels), the model has 7 outputs");
}

TEST_CASE("weights: the shipped paper.mien loads with FER2013's names (stored in it, or the default for a file without them)") {
    auto net = make<paper>(1);
    auto const r = mien::load_weights(*net, std::filesystem::path(MIEN_SOURCE_DIR) / "models" / "paper.mien");
    CHECK(r.labels.size() == 7);
    CHECK(r.labels.front() == "angry");
    CHECK(r.labels.back() == "neutral");
}
