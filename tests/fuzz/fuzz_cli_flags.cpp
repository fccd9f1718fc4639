// libFuzzer target: the numeric flags of the command-line programs, through CLI11 as they
// declare them.
//
// The input is a NUL-separated argument list. The options are declared exactly as mien-train
// declares its numeric flags (examples/mien_train.cpp; keep the two in step), plus the shared
// --class-weights / --mixup of examples/common/balance_flags.hpp (included, not copied). When
// CLI11 accepts a command line, every value must be one the program can use: finite and in
// the documented range. NaN is the classic escape: `x < lo || x > hi` is false for it.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/balance_flags.hpp"
#include "common/number_flags.hpp"
#include "fuzz_support.hpp"

namespace {

struct flags {
    int epochs = 30, batch = 32, threads = 2;
    double lr = 3e-3, dropout = 0.2, label_smoothing = 0.0, weight_decay = 0.0;
    double soft_weight = 0.5, distill_weight = 0.5, temperature = 4.0;
    std::uint64_t seed = 1;
    int max_shift = 4;
    double max_rotation = 10.0;
    balance_flags balance;
};

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::vector<std::string> args{"mien-train"};
    std::string current;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current += char(data[i]);
        }
    }
    args.push_back(current);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());

    flags f;
    CLI::App app{"fuzz"};
    // As examples/mien_train.cpp declares them.
    app.add_option("--epochs", f.epochs)->check(CLI::PositiveNumber);
    app.add_option("--batch", f.batch);  // checked by the program: 16, 32 or 64
    app.add_option("--lr", f.lr)->check(finite_range(0.0, 10.0, true));
    app.add_option("--dropout", f.dropout)->check(finite_range(0.0, 0.95));
    app.add_option("--label-smoothing", f.label_smoothing)->check(finite_range(0.0, 0.99));
    app.add_option("--weight-decay", f.weight_decay)->check(finite_range(0.0, 1.0));
    app.add_option("--seed", f.seed);
    app.add_option("--threads", f.threads)->check(CLI::Range(1, 2));
    app.add_option("--max-shift", f.max_shift)->check(CLI::Range(0, 24));
    app.add_option("--max-rotation", f.max_rotation)->check(finite_range(0.0, 180.0));
    app.add_option("--soft-weight", f.soft_weight)->check(finite_range(0.0, 1.0));
    app.add_option("--distill-weight", f.distill_weight)->check(finite_range(0.0, 1.0));
    app.add_option("--temperature", f.temperature)->check(finite_range(0.05, 100.0));
    f.balance.add_to(app);
    app.allow_extras();  // unknown words are the parser's business, not this target's
    try {
        app.parse(int(argv.size()), argv.data());
    } catch (CLI::ParseError const&) {
        return 0;  // refused with a message: fine
    }
    if (f.epochs < 1 || f.threads < 1 || f.threads > 2) std::abort();
    if (!finite_in(f.lr, 0.0, 10.0) || f.lr <= 0) std::abort();
    if (!finite_in(f.dropout, 0.0, 0.95)) std::abort();
    if (!finite_in(f.label_smoothing, 0.0, 0.99)) std::abort();
    if (!finite_in(f.weight_decay, 0.0, 1.0)) std::abort();
    if (f.max_shift < 0 || f.max_shift > 24 || !finite_in(f.max_rotation, 0.0, 180.0)) std::abort();
    if (!finite_in(f.balance.mixup, 0.0, 10.0)) std::abort();
    if (!finite_in(f.soft_weight, 0.0, 1.0) || !finite_in(f.distill_weight, 0.0, 1.0) || !finite_in(f.temperature, 0.05, 100.0))
        std::abort();
    return 0;
}
