// mien/data/augment.hpp -- seeded augmentation of square grayscale faces (no OpenCV).
//
// What the field found to matter on FER2013: random shifts (reflect-pad, then crop), horizontal
// flips, small rotations and brightness/contrast changes; optionally random erasing (Zhong et al.
// 2017: a rectangle of the face replaced by noise, so that no single region can carry the
// decision; issue 12 measured it on val, docs/RESULTS.md). Every draw comes from the caller's
// mien::random_generator, so an epoch is reproducible from its seed. Images are S x S floats in
// [0, 1], row-major; output may not alias input.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../core/random.hpp"

namespace mien {

struct augment_options {
    int max_shift = 4;            // pixels, each direction (reflect padding)
    bool flip = true;             // horizontal flip with probability 1/2
    double max_rotation = 10.0;   // degrees, uniform in [-r, r]
    double brightness = 0.1;      // added offset, uniform in [-b, b]
    double contrast = 0.2;        // gain, uniform in [1 - c, 1 + c] around the image mean
    double erase = 0.0;           // random erasing: probability of one erased rectangle (0: none, nothing drawn)
    static augment_options none() { return {0, false, 0.0, 0.0, 0.0, 0.0}; }
};

namespace detail {
inline int reflect(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

// Random erasing's rectangle: 2 % to 25 % of the face, aspect ratio (height / width) from 0.3 to
// 3.3 (log-uniform), placed uniformly where it fits, filled with uniform noise in [0, 1]: the
// values of Zhong et al. 2017. Sides are clamped to the face, so every draw erases something.
inline void erase_rectangle(float* out, int size, random_generator& rng) {
    double const area = rng.uniform(0.02, 0.25) * double(size) * double(size);
    double const aspect = std::exp(rng.uniform(std::log(0.3), std::log(3.3)));
    int const h = std::clamp(int(std::lround(std::sqrt(area * aspect))), 1, size);
    int const w = std::clamp(int(std::lround(std::sqrt(area / aspect))), 1, size);
    int const y0 = int(rng.below(std::uint64_t(size - h + 1))), x0 = int(rng.below(std::uint64_t(size - w + 1)));
    for (int y = y0; y < y0 + h; ++y)
        for (int x = x0; x < x0 + w; ++x) out[y * size + x] = float(rng.uniform());
}
}  // namespace detail

// One augmented copy of `in` (size x size) into `out`.
inline void augment(float const* in, float* out, int size, augment_options const& o, random_generator& rng) {
    int const dx = o.max_shift > 0 ? int(rng.below(2 * o.max_shift + 1)) - o.max_shift : 0;
    int const dy = o.max_shift > 0 ? int(rng.below(2 * o.max_shift + 1)) - o.max_shift : 0;
    bool const flip = o.flip && rng.below(2) == 1;
    double const angle = o.max_rotation > 0 ? rng.uniform(-o.max_rotation, o.max_rotation) * 3.14159265358979 / 180 : 0.0;
    double const gain = o.contrast > 0 ? rng.uniform(1 - o.contrast, 1 + o.contrast) : 1.0;
    double const offset = o.brightness > 0 ? rng.uniform(-o.brightness, o.brightness) : 0.0;
    double const c = std::cos(angle), s = std::sin(angle), centre = (size - 1) / 2.0;
    double mean = 0;
    for (int i = 0; i < size * size; ++i) mean += in[i];
    mean /= double(size * size);
    auto pixel = [&](int y, int x) { return double(in[detail::reflect(y, size) * size + detail::reflect(x, size)]); };
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            // Where this output pixel comes from: undo the flip, the shift, then the rotation.
            double const ox = (flip ? size - 1 - x : x) - dx - centre, oy = y - dy - centre;
            double const sx = c * ox + s * oy + centre, sy = -s * ox + c * oy + centre;
            double value;
            if (angle == 0.0) {
                value = pixel(int(std::lround(sy)), int(std::lround(sx)));
            } else {  // bilinear
                int const x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
                double const fx = sx - x0, fy = sy - y0;
                value = (1 - fy) * ((1 - fx) * pixel(y0, x0) + fx * pixel(y0, x0 + 1)) +
                        fy * ((1 - fx) * pixel(y0 + 1, x0) + fx * pixel(y0 + 1, x0 + 1));
            }
            value = (value - mean) * gain + mean + offset;
            out[y * size + x] = float(std::clamp(value, 0.0, 1.0));
        }
    // Drawn after the rest, and only when enabled, so that runs without it keep their random
    // stream (and their weights) bit for bit.
    if (o.erase > 0 && rng.uniform() < o.erase) detail::erase_rectangle(out, size, rng);
}

// Horizontal mirror (for test-time flip averaging).
inline void mirror(float const* in, float* out, int size) {
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) out[y * size + x] = in[y * size + size - 1 - x];
}

}  // namespace mien
