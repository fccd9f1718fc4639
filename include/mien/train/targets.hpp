// mien/train/targets.hpp -- the training target of each face: hard label, soft rows, blends.
//
//   auto soft = mien::soft_targets::from(mien::fer2013_soft_targets(train, root, votes));  // data/ferplus.hpp
//   epoch_options eo;  eo.soft = &soft;  eo.soft_weight = 0.5;                          // epoch.hpp
//
// A face's target row (K values summing to 1) is
//   hard(label) = (1 - e) one_hot(label) + e / K          (label smoothing e, as loss.hpp)
//   target      = (1 - w) hard(label) + w soft_row        when the face has a soft row,
//                 hard(label)                              when it has none,
// so w = 0 is plain training and w = 1 trains on the soft rows alone (FER+ "crossentropy").
// Soft rows are per face of a data set (aligned with its indices), e.g. FER+ vote
// distributions; draw_class picks one class from a row, for FER+ "probability" (label drawing).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"

namespace mien {

struct soft_targets {
    std::size_t classes = 0;
    std::vector<float> values;          // size() x classes; rows of faces without one are 0
    std::vector<std::uint8_t> present;  // 1 when face i has a row

    std::size_t size() const { return present.size(); }
    bool has(std::size_t i) const { return present[i] != 0; }
    float const* row(std::size_t i) const { return values.data() + i * classes; }
    std::size_t count() const {
        std::size_t n = 0;
        for (auto p : present) n += p;
        return n;
    }

    // From per-face optional rows (each must sum to 1 within 1e-4: a row that does not is a bug
    // in whatever built it, and would silently scale that face's gradient).
    template <std::size_t K>
    static soft_targets from(std::vector<std::optional<std::array<float, K>>> const& rows) {
        soft_targets t;
        t.classes = K;
        t.values.assign(rows.size() * K, 0.0f);
        t.present.assign(rows.size(), 0);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!rows[i]) continue;
            double sum = 0;
            for (std::size_t k = 0; k < K; ++k) {
                float const v = (*rows[i])[k];
                if (!(v >= 0.0f) || !std::isfinite(v)) fail("soft_targets: row %zu, class %zu is %g; expected a probability", i, k, double(v));
                t.values[i * K + k] = v;
                sum += v;
            }
            if (std::abs(sum - 1.0) > 1e-4) fail("soft_targets: row %zu sums to %.6f; expected 1", i, sum);
            t.present[i] = 1;
        }
        return t;
    }
    template <std::size_t K>
    static soft_targets from(std::vector<std::array<float, K>> const& rows) {
        return from(std::vector<std::optional<std::array<float, K>>>(rows.begin(), rows.end()));
    }
};

// The target row of one face (see the top of this file). soft may be null (no soft row).
inline void face_target(std::size_t K, std::int32_t label, double smoothing, float const* soft, double soft_weight, float* out) {
    double const w = soft ? soft_weight : 0.0;
    for (std::size_t k = 0; k < K; ++k) {
        double const hard = (1.0 - smoothing) * (std::size_t(label) == k ? 1.0 : 0.0) + smoothing / double(K);
        out[k] = float((1.0 - w) * hard + (soft ? w * double(soft[k]) : 0.0));
    }
}

// A class drawn from a row of probabilities (the last class with a non-zero share takes any
// rounding remainder).
inline std::size_t draw_class(float const* row, std::size_t K, random_generator& rng) {
    double const u = rng.uniform(0.0, 1.0);
    double cumulative = 0;
    std::size_t last = 0;
    for (std::size_t k = 0; k < K; ++k) {
        if (row[k] <= 0) continue;
        last = k;
        cumulative += double(row[k]);
        if (u < cumulative) return k;
    }
    return last;
}

}  // namespace mien
