// examples/common/number_flags.hpp -- range checks for numeric command-line flags that NaN and
// infinity cannot slip through.
//
// CLI11's Range and PositiveNumber test `x < min || x > max` and `x <= 0`, both false for NaN,
// so `--dropout nan` or `--lr nan` used to pass and poison a whole training run (found by
// tests/fuzz/fuzz_cli_flags.cpp). These validators accept only finite values inside the range.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

// A finite number in [lo, hi]; `open_low` excludes lo itself (a learning rate of 0 trains nothing).
inline CLI::Validator finite_range(double lo, double hi, bool open_low = false) {
    auto const text = [](double v) {
        char t[32];
        std::snprintf(t, sizeof t, "%g", v);
        return std::string(t);
    };
    std::string const range = (open_low ? "(" : "[") + text(lo) + ", " + text(hi) + "]";
    return CLI::Validator(
        [lo, hi, open_low, range](std::string& text) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
            if (!std::isfinite(v) || v < lo || v > hi || (open_low && v == lo))
                return "expected a finite number in " + range + ", found " + text;
            return {};
        },
        "FINITE in " + range);
}
