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

    // Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) U^(1/shape).
    double gamma(double shape) {
        if (!(shape > 0)) return 0;
        if (shape < 1) {
            double u = uniform();
            if (u < 1e-300) u = 1e-300;
            return gamma(shape + 1) * std::pow(u, 1 / shape);
        }
        double const d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double const u = uniform();
            if (u < 1 - 0.0331 * x * x * x * x) return d * v;
            if (u > 0 && std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
        }
    }

    // Beta(a, b) from two gamma draws (mixup's mixing weight).
    double beta(double a, double b) {
        double const x = gamma(a), y = gamma(b);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    constexpr std::uint64_t state() const { return state_; }
    constexpr void set_state(std::uint64_t s) { state_ = s; }

private:
    std::uint64_t state_;
};

}  // namespace mien
