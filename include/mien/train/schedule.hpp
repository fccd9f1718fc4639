// mien/train/schedule.hpp -- learning-rate schedules as pure functions of the step.
//
// A function of the global step (not of state) so that a resumed run continues exactly where
// the interrupted one stopped. That is also why there is no plateau schedule: its rate depends
// on the validation history, which a checkpoint would have to carry; cosine annealing reaches
// the same end (a rate that decays to zero) without it.
//
//   double lr = mien::learning_rate(mien::lr_schedule::cosine, step, total_steps, peak);
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

namespace mien {

enum class lr_schedule {
    one_cycle,  // warm-up to the peak, cosine down (Adam's default here)
    constant,   // the paper's recipe: Adam at a constant 0.001
    cosine,     // short linear warm-up, then cosine annealing to zero (SGD's usual companion)
};

namespace detail {
inline double cosine_between(double from, double to, double x) {
    return to + (from - to) * 0.5 * (1.0 + std::cos(3.141592653589793 * x));
}
}  // namespace detail

// One-cycle (Smith 2018, PyTorch's OneCycleLR defaults): warm-up (cosine, as PyTorch) from max/25 to max over
// the first `warmup` fraction of the steps, then cosine annealing down to max/25/1e4.
inline double one_cycle_rate(std::size_t step, std::size_t total, double max_rate, double warmup = 0.3) {
    double const start = max_rate / 25.0, end = start / 1e4;
    if (total <= 1) return max_rate;
    double const t = double(step) / double(total - 1);
    if (t < warmup) return detail::cosine_between(start, max_rate, t / warmup);
    return detail::cosine_between(max_rate, end, (t - warmup) / (1.0 - warmup));
}

// Cosine annealing (Loshchilov & Hutter 2017, without restarts) after a linear warm-up from
// max/25 over the first `warmup` fraction of the steps: SGD with momentum diverges in its first
// steps at the rates it needs later (0.01-0.1), before batch norm's statistics settle. The last
// step's rate is 0.
inline double cosine_rate(std::size_t step, std::size_t total, double max_rate, double warmup = 0.02) {
    if (total <= 1) return max_rate;
    double const t = double(step) / double(total - 1);
    if (t < warmup) return max_rate / 25.0 + (max_rate - max_rate / 25.0) * t / warmup;
    return detail::cosine_between(max_rate, 0.0, (t - warmup) / (1.0 - warmup));
}

inline double learning_rate(lr_schedule s, std::size_t step, std::size_t total, double rate) {
    switch (s) {
        case lr_schedule::one_cycle: return one_cycle_rate(step, total, rate);
        case lr_schedule::cosine: return cosine_rate(step, total, rate);
        case lr_schedule::constant: break;
    }
    return rate;
}

// "onecycle", "constant", "cosine" (the command-line names); false for anything else.
inline bool parse_lr_schedule(std::string_view name, lr_schedule& out) {
    if (name == "onecycle") out = lr_schedule::one_cycle;
    else if (name == "constant") out = lr_schedule::constant;
    else if (name == "cosine") out = lr_schedule::cosine;
    else return false;
    return true;
}

}  // namespace mien
