// libFuzzer target: the checkpoint reader (mien/io/checkpoint.hpp) on untrusted bytes.
//
// As fuzz_weights.cpp, each input is decoded as given and with its size and CRC-32 patched,
// into a trainer of the small network (Adam) and one with SGD. On error the trainer must be
// unchanged: the reader promises to check everything before it writes anything.
#include <cstring>
#include <memory>
#include <vector>

#include <mien/io/binary.hpp>
#include <mien/io/checkpoint.hpp>
#include <mien/train/trainer.hpp>

#include "fuzz_support.hpp"

namespace {

std::vector<std::byte> patched(std::span<std::byte const> bytes) {
    std::vector<std::byte> v(bytes.begin(), bytes.end());
    if (v.size() < 20) return v;
    std::uint64_t const size = v.size();
    for (int i = 0; i < 8; ++i) v[8 + std::size_t(i)] = std::byte(static_cast<unsigned char>(size >> (8 * i)));
    std::uint32_t const crc = mien::detail::crc32(std::span<std::byte const>(v).first(v.size() - 4));
    for (int i = 0; i < 4; ++i) v[v.size() - 4 + std::size_t(i)] = std::byte(static_cast<unsigned char>(crc >> (8 * i)));
    return v;
}

template <template <class, std::size_t> class Optimizer>
void decode(std::span<std::byte const> bytes) {
    using trainer_t = mien::trainer<mien::fuzz::tiny, 4, Optimizer>;
    static auto net = std::make_unique<mien::fuzz::tiny>();
    static auto tr = std::make_unique<trainer_t>(*net);
    std::vector<float> const before(net->parameters().begin(), net->parameters().end());
    auto const rng = tr->rng().state();
    auto const steps = tr->optimizer().steps();
    try {
        mien::decode_checkpoint(*tr, bytes, "fuzz.ckpt");
    } catch (mien::error const&) {
        if (std::memcmp(before.data(), net->parameters().data(), before.size() * sizeof(float)) != 0) std::abort();
        if (tr->rng().state() != rng || tr->optimizer().steps() != steps) std::abort();
        return;
    }
    // Accepted: saving it again and loading that must succeed.
    auto const again = mien::encode_checkpoint(*tr);
    mien::decode_checkpoint(*tr, again, "round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const bytes = mien::fuzz::bytes_of(data, size);
    auto const fixed = patched(bytes);
    for (auto const& b : {std::span<std::byte const>(bytes), std::span<std::byte const>(fixed)}) {
        decode<mien::adam>(b);
        decode<mien::sgd>(b);
    }
    return 0;
}
