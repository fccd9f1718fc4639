// libFuzzer target: the .mien weights reader (mien/io/weights.hpp) on untrusted bytes.
//
// Each input is decoded twice: as given (the magic, size and CRC-32 checks see it first), and
// with its declared size and checksum patched to fit, so that mutations reach the structure
// parser (metadata, tensor headers, shapes, counts) instead of stopping at the checksum. A
// decode that succeeds must give a network that encodes and decodes again to the same tensors.
#include <cstring>
#include <memory>
#include <vector>

#include <mien/io/binary.hpp>
#include <mien/io/weights.hpp>

#include "fuzz_support.hpp"

namespace {

template <class Net>
void decode_into(std::span<std::byte const> bytes, mien::topology_check policy) {
    static auto net = std::make_unique<Net>();
    try {
        mien::decode_weights(*net, bytes, "fuzz.mien", policy);
    } catch (mien::error const&) {
        return;  // rejected with a message: fine
    }
    // Accepted: what was loaded must round-trip bit for bit.
    auto const again = mien::encode_weights(*net);
    static auto copy = std::make_unique<Net>();
    mien::decode_weights(*copy, again, "round trip", mien::topology_check::exact);
    auto const a = net->parameters(), b = copy->parameters();
    if (std::memcmp(a.data(), b.data(), a.size_bytes()) != 0) std::abort();
}

// The same bytes with the header's size field and the trailing CRC-32 made consistent.
std::vector<std::byte> patched(std::span<std::byte const> bytes) {
    std::vector<std::byte> v(bytes.begin(), bytes.end());
    if (v.size() < 20) return v;
    std::uint64_t const size = v.size();
    for (int i = 0; i < 8; ++i) v[8 + std::size_t(i)] = std::byte(static_cast<unsigned char>(size >> (8 * i)));
    std::uint32_t const crc = mien::detail::crc32(std::span<std::byte const>(v).first(v.size() - 4));
    for (int i = 0; i < 4; ++i) v[v.size() - 4 + std::size_t(i)] = std::byte(static_cast<unsigned char>(crc >> (8 * i)));
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const bytes = mien::fuzz::bytes_of(data, size);
    auto const fixed = patched(bytes);
    for (auto const& b : {std::span<std::byte const>(bytes), std::span<std::byte const>(fixed)}) {
        decode_into<mien::fuzz::tiny>(b, mien::topology_check::shapes);
        decode_into<mien::fuzz::tiny>(b, mien::topology_check::exact);
        decode_into<mien::fuzz::tiny_other>(b, mien::topology_check::shapes);
    }
    return 0;
}
