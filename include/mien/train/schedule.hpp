// mien/train/schedule.hpp -- learning-rate schedules as pure functions of the step.
//
// A function of the global step (not of state) so that a resumed run continues exactly where
// the interrupted one stopped.
#pragma once

#include <cmath>
#include <cstddef>

namespace mien {

// One-cycle (Smith 2018, PyTorch's OneCycleLR defaults): warm-up (cosine, as PyTorch) from max/25 to max over
// the first `warmup` fraction of the steps, then cosine annealing down to max/25/1e4.
inline double one_cycle_rate(std::size_t step, std::size_t total, double max_rate, double warmup = 0.3) {
    double const start = max_rate / 25.0, end = start / 1e4;
    if (total <= 1) return max_rate;
    double const t = double(step) / double(total - 1);
    auto cosine = [](double from, double to, double x) { return to + (from - to) * 0.5 * (1.0 + std::cos(3.141592653589793 * x)); };
    if (t < warmup) return cosine(start, max_rate, t / warmup);
    return cosine(max_rate, end, (t - warmup) / (1.0 - warmup));
}

}  // namespace mien
