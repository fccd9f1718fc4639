// libFuzzer target: the NumPy .npz reader (mien/io/npz.hpp) on untrusted bytes.
//
// Three entry points: the ZIP archive into plain arrays, the archive into the small network
// (which must be unchanged when it is refused), and the .npy parser alone on the raw input,
// which mutations otherwise reach only through a matching CRC-32.
#include <cstring>
#include <memory>
#include <vector>

#include <mien/io/npz.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const bytes = mien::fuzz::bytes_of(data, size);
    try {
        auto const arrays = mien::decode_npz_arrays(bytes, "fuzz.npz");
        for (auto const& [name, a] : arrays) {
            std::size_t count = 1;
            for (std::size_t d : a.shape) count *= d;
            if (count != a.values.size()) std::abort();  // shape and values must agree
        }
    } catch (mien::error const&) {
    }
    static auto net = std::make_unique<mien::fuzz::tiny>();
    std::vector<float> const before(net->parameters().begin(), net->parameters().end());
    try {
        mien::decode_npz(*net, bytes, "fuzz.npz");
    } catch (mien::error const&) {
        if (std::memcmp(before.data(), net->parameters().data(), before.size() * sizeof(float)) != 0) std::abort();
    }
    try {
        auto const a = mien::detail::parse_npy(bytes, "fuzz.npy", "array");
        std::size_t count = 1;
        for (std::size_t d : a.shape) count *= d;
        if (count != a.values.size()) std::abort();
    } catch (mien::error const&) {
    }
    return 0;
}
