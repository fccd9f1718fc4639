// mien/core/random.hpp -- a small, portable, seedable random generator.
//
// std::normal_distribution and friends differ between standard libraries, so training would
// not be reproducible across platforms. This is SplitMix64 with our own uniform and normal
// draws: the same seed gives the same numbers everywhere.
#pragma once

#include <cmath>
#include <cstdint>

namespace mien {

class random_generator {
public:
    explicit constexpr random_generator(std::uint64_t seed = 0) : state_(seed) {}

    constexpr std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    // Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

    // Standard normal (Box-Muller; one value per call, simplicity over speed).
    double normal() {
        double u1 = uniform();
        double const u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

    constexpr std::uint64_t state() const { return state_; }
    constexpr void set_state(std::uint64_t s) { state_ = s; }

private:
    std::uint64_t state_;
};

}  // namespace mien
