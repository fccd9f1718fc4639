// tests/fuzz/fuzz_support.hpp -- what the libFuzzer targets share: the small networks the
// weight readers decode into, and a scratch file for readers that only take a path.
//
// A reader may reject its input (mien::error, with a message); any other exception, a crash,
// a sanitizer report, a hang or a runaway allocation is a finding. The targets catch
// mien::error only, so everything else reaches libFuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

#include <unistd.h>

#include <mien/mien.hpp>

namespace mien::fuzz {

// A network with every kind of tensor the formats carry: conv weights and bias, batch-norm
// parameters and running statistics (state), a dropout rate (state), dense layers. Small, so
// that seeds are a few hundred bytes and an execution takes microseconds.
using tiny = network<input<4, 4, 1>, conv2d<3, 3>, batch_norm, relu, global_avg_pool, dense<5>, dropout, dense<3>>;
// Same tensor shapes as tiny up to the last layer, which has 4 outputs: a file of one decoded
// into the other must fail on that tensor's shape.
using tiny_other = network<input<4, 4, 1>, conv2d<3, 3>, batch_norm, relu, global_avg_pool, dense<5>, dropout, dense<4>>;

inline std::span<std::byte const> bytes_of(std::uint8_t const* data, std::size_t size) {
    return {reinterpret_cast<std::byte const*>(data), size};
}

// A file under /dev/shm (else the temp folder) named after the process, rewritten per input.
inline std::filesystem::path scratch_dir() {
    static std::filesystem::path const dir = [] {
        std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        auto d = base / ("mien-fuzz-" + std::to_string(static_cast<long long>(::getpid())));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

inline void write_file(std::filesystem::path const& path, std::uint8_t const* data, std::size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();  // the harness itself is broken: stop loudly
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
}

}  // namespace mien::fuzz
