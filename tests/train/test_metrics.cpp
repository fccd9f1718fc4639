// mien/train/metrics.hpp: precision, recall, F1 from a confusion matrix, and macro
// averages over the classes that occur (the programs' per-class reports rest on it).
#include <mien/train/metrics.hpp>

#include <doctest/doctest.h>

using mien::classification_report;
using mien::report_from_confusion;

TEST_CASE("metrics: per-class figures and averages from a hand-made confusion matrix") {
    // truth x predicted; class 2 never occurs (no face, never predicted), like CK+'s neutral.
    std::vector<std::vector<std::size_t>> const confusion{{8, 2, 0}, {1, 9, 0}, {0, 0, 0}};
    classification_report const r = report_from_confusion(confusion);
    CHECK(r.total == 20);
    CHECK(r.correct == 17);
    CHECK(r.accuracy == doctest::Approx(0.85));
    CHECK(r.per_class[0].precision == doctest::Approx(8.0 / 9));
    CHECK(r.per_class[0].recall == doctest::Approx(0.8));
    CHECK(r.per_class[1].precision == doctest::Approx(9.0 / 11));
    CHECK(r.per_class[1].recall == doctest::Approx(0.9));
    double const f0 = 2 * (8.0 / 9) * 0.8 / (8.0 / 9 + 0.8), f1 = 2 * (9.0 / 11) * 0.9 / (9.0 / 11 + 0.9);
    CHECK(r.per_class[0].f1 == doctest::Approx(f0));
    CHECK(r.per_class[2].f1 == 0.0);
    // Macro over the two occurring classes, not three.
    CHECK(r.macro_f1 == doctest::Approx((f0 + f1) / 2));
    CHECK(r.macro_recall == doctest::Approx(0.85));
    CHECK(r.weighted_f1 == doctest::Approx((10 * f0 + 10 * f1) / 20));
}

TEST_CASE("metrics: a class that is predicted but never true still counts in the macro average") {
    std::vector<std::vector<std::size_t>> const confusion{{3, 1}, {0, 0}};
    classification_report const r = report_from_confusion(confusion);
    CHECK(r.per_class[1].precision == 0.0);
    CHECK(r.per_class[1].recall == 0.0);
    CHECK(r.macro_recall == doctest::Approx(0.75 / 2));
}
