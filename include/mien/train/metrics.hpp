// mien/train/metrics.hpp -- per-class precision, recall and F1 from a confusion matrix.
//
// confusion[true][predicted] counts, as mien::evaluate() (evaluate.hpp) returns them. A class never
// predicted has precision 0, a class with no sample recall 0, and F1 0 when both are 0 (the
// scikit-learn convention with zero_division=0). Macro averages weigh equally the classes that
// occur, as truth or as prediction (scikit-learn's default labels: CK+ without contempt has no
// neutral face, and a neutral column never predicted does not pull its macro F1 down);
// weighted F1 weighs by support.
#pragma once

#include <cstddef>
#include <vector>

namespace mien {

struct class_metrics {
    double precision = 0, recall = 0, f1 = 0;
    std::size_t support = 0;    // samples of this class
    std::size_t predicted = 0;  // samples predicted as this class
};

struct classification_report {
    std::size_t total = 0, correct = 0;
    double accuracy = 0;
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0, weighted_f1 = 0;
    std::vector<class_metrics> per_class;
};

inline classification_report report_from_confusion(std::vector<std::vector<std::size_t>> const& confusion) {
    std::size_t const k = confusion.size();
    classification_report r;
    r.per_class.resize(k);
    for (std::size_t t = 0; t < k; ++t)
        for (std::size_t p = 0; p < k; ++p) {
            std::size_t const n = confusion[t][p];
            r.total += n;
            r.per_class[t].support += n;
            r.per_class[p].predicted += n;
            if (t == p) r.correct += n;
        }
    std::size_t occurring = 0;
    for (auto const& m : r.per_class) occurring += m.support + m.predicted > 0;
    double const share = occurring ? 1.0 / double(occurring) : 0.0;
    for (std::size_t c = 0; c < k; ++c) {
        class_metrics& m = r.per_class[c];
        double const hits = double(confusion[c][c]);
        m.precision = m.predicted ? hits / double(m.predicted) : 0.0;
        m.recall = m.support ? hits / double(m.support) : 0.0;
        m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
        if (m.support + m.predicted == 0) continue;
        r.macro_precision += m.precision * share;
        r.macro_recall += m.recall * share;
        r.macro_f1 += m.f1 * share;
        if (r.total) r.weighted_f1 += m.f1 * double(m.support);
    }
    if (r.total) {
        r.weighted_f1 /= double(r.total);
        r.accuracy = double(r.correct) / double(r.total);
    }
    return r;
}

}  // namespace mien
