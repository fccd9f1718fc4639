// mien/data/folds.hpp -- k-fold cross-validation splits, seeded and deterministic (no OpenCV).
//
//   for (auto const& f : mien::subject_k_fold(ck, 10, seed)) {
//       auto train = ck.subset(f.train), test = ck.subset(f.test);  ...
//   }
//
// Three ways to split n samples into folds; every sample is in exactly one fold's test set
// and in the training set of every other fold. Index lists come out sorted.
//
// - stratified_k_fold: random, class proportions kept. Each class's samples are shuffled and
//   dealt round-robin across the folds, the dealing continuing where the previous class
//   stopped, so fold sizes differ by at most one and each class's count per fold by at most one.
// - subject_k_fold: no subject in two folds, so no person is both trained and tested on (what
//   CK+ and JAFFE results must use: CK+ has three near-identical frames per sequence). Subjects
//   are shuffled, then placed largest first into the fold with the fewest samples so far,
//   which keeps fold sizes balanced.
// - leave_one_subject_out: one fold per subject (sorted by subject id); no seed.
//
// check_folds verifies those promises on any list of folds (a driver runs it before training).
//
// The same inputs and seed give the same folds on every platform (mien::random_generator).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "dataset.hpp"

namespace mien {

struct fold {
    std::vector<std::size_t> train, test;  // sample indices, sorted
};

namespace detail {

template <class T>
void seeded_shuffle(std::vector<T>& v, random_generator& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[std::size_t(rng.below(i))]);
}

// Folds from a fold number per sample.
inline std::vector<fold> folds_from_assignment(std::vector<std::size_t> const& fold_of, std::size_t k) {
    std::vector<fold> folds(k);
    for (std::size_t i = 0; i < fold_of.size(); ++i)
        for (std::size_t f = 0; f < k; ++f) (f == fold_of[i] ? folds[f].test : folds[f].train).push_back(i);
    return folds;
}

// Sample indices per subject id, subjects in sorted order; fails on an empty id.
inline std::map<std::string, std::vector<std::size_t>> group_by_subject(std::span<std::string const> subjects,
                                                                       char const* who) {
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < subjects.size(); ++i) {
        if (subjects[i].empty())
            fail("%s: sample %zu has no subject id (this data set's loader gives none: use stratified_k_fold)", who, i);
        groups[subjects[i]].push_back(i);
    }
    return groups;
}

}  // namespace detail

// k random folds, class proportions kept (labels: class index per sample).
inline std::vector<fold> stratified_k_fold(std::span<std::int32_t const> labels, std::size_t k, std::uint64_t seed) {
    if (k < 2) fail("stratified_k_fold: k must be at least 2, found %zu", k);
    if (k > labels.size()) fail("stratified_k_fold: %zu folds need at least %zu samples, found %zu", k, k, labels.size());
    std::map<std::int32_t, std::vector<std::size_t>> by_class;
    for (std::size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
    random_generator rng(seed);
    std::vector<std::size_t> fold_of(labels.size());
    std::size_t dealt = 0;
    for (auto& [label, members] : by_class) {
        detail::seeded_shuffle(members, rng);
        for (std::size_t i : members) fold_of[i] = dealt++ % k;
    }
    return detail::folds_from_assignment(fold_of, k);
}

// k folds with every subject's samples in one fold (subjects: id per sample, none empty).
inline std::vector<fold> subject_k_fold(std::span<std::string const> subjects, std::size_t k, std::uint64_t seed) {
    if (k < 2) fail("subject_k_fold: k must be at least 2, found %zu", k);
    auto const groups = detail::group_by_subject(subjects, "subject_k_fold");
    if (k > groups.size()) fail("subject_k_fold: %zu folds need at least %zu subjects, found %zu", k, k, groups.size());
    std::vector<std::vector<std::size_t> const*> order;
    for (auto const& g : groups) order.push_back(&g.second);
    random_generator rng(seed);
    detail::seeded_shuffle(order, rng);
    std::stable_sort(order.begin(), order.end(), [](auto const* a, auto const* b) { return a->size() > b->size(); });
    std::vector<std::size_t> fold_of(subjects.size()), size(k, 0);
    for (auto const* members : order) {
        std::size_t const f = std::size_t(std::min_element(size.begin(), size.end()) - size.begin());
        for (std::size_t i : *members) fold_of[i] = f;
        size[f] += members->size();
    }
    return detail::folds_from_assignment(fold_of, k);
}

// One fold per subject, in sorted subject order (subjects: id per sample, none empty).
inline std::vector<fold> leave_one_subject_out(std::span<std::string const> subjects) {
    auto const groups = detail::group_by_subject(subjects, "leave_one_subject_out");
    if (groups.size() < 2) fail("leave_one_subject_out: needs at least 2 subjects, found %zu", groups.size());
    std::vector<std::size_t> fold_of(subjects.size());
    std::size_t f = 0;
    for (auto const& g : groups) {
        for (std::size_t i : g.second) fold_of[i] = f;
        ++f;
    }
    return detail::folds_from_assignment(fold_of, groups.size());
}

// Checks what a cross-validation protocol promises over n samples: in every fold, train and
// test are disjoint, hold only indices below n and together every sample; every sample is in
// exactly one test set. With `subjects` (one id per sample), also that no subject is in both
// a fold's train and test. Fails naming the fold (counted from 0) and the sample or subject.
inline void check_folds(std::span<fold const> folds, std::size_t n, std::span<std::string const> subjects = {}) {
    if (!subjects.empty() && subjects.size() != n)
        fail("check_folds: %zu subject ids for %zu samples", subjects.size(), n);
    std::vector<std::size_t> tested(n, 0);
    for (std::size_t f = 0; f < folds.size(); ++f) {
        std::vector<char> where(n, 0);  // 0 nowhere, 1 test, 2 train
        auto place = [&](std::vector<std::size_t> const& indices, char part) {
            for (std::size_t i : indices) {
                if (i >= n) fail("check_folds: fold %zu holds sample %zu, but there are %zu samples", f, i, n);
                if (where[i] != 0)
                    fail("check_folds: sample %zu is twice in fold %zu (%s and %s)", i, f, where[i] == 1 ? "test" : "train",
                         part == 1 ? "test" : "train");
                where[i] = part;
            }
        };
        place(folds[f].test, 1);
        place(folds[f].train, 2);
        for (std::size_t i = 0; i < n; ++i) {
            if (where[i] == 0) fail("check_folds: sample %zu is in neither train nor test of fold %zu", i, f);
            tested[i] += where[i] == 1;
        }
        if (subjects.empty()) continue;
        std::map<std::string, std::size_t> test_subjects;
        for (std::size_t i : folds[f].test) test_subjects.emplace(subjects[i], i);
        for (std::size_t i : folds[f].train)
            if (auto it = test_subjects.find(subjects[i]); it != test_subjects.end())
                fail("check_folds: subject %s is in both train (sample %zu) and test (sample %zu) of fold %zu",
                     subjects[i].c_str(), i, it->second, f);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (tested[i] != 1) fail("check_folds: sample %zu is in %zu test sets, expected exactly 1", i, tested[i]);
}

// The same on a data set's labels and subjects.
inline std::vector<fold> stratified_k_fold(dataset const& d, std::size_t k, std::uint64_t seed) {
    return stratified_k_fold(std::span<std::int32_t const>(d.labels), k, seed);
}
inline std::vector<fold> subject_k_fold(dataset const& d, std::size_t k, std::uint64_t seed) {
    return subject_k_fold(std::span<std::string const>(d.subjects), k, seed);
}
inline std::vector<fold> leave_one_subject_out(dataset const& d) {
    return leave_one_subject_out(std::span<std::string const>(d.subjects));
}

}  // namespace mien
