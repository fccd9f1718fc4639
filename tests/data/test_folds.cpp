// k-fold splits: every sample in exactly one test fold, train = the rest, stratification,
// subject independence, balance, determinism for a seed, bad arguments.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <mien/data/folds.hpp>

namespace {

// 200 samples of 7 unbalanced classes, interleaved: rounds of 1 x class 0, 2 x class 1, ..., 7 x class 6.
std::vector<std::int32_t> make_labels() {
    std::vector<std::int32_t> labels;
    for (std::int32_t c = 0; labels.size() < 200; c = (c + 1) % 7)
        for (int i = 0; i < 1 + c && labels.size() < 200; ++i) labels.push_back(c);
    return labels;
}

// prefix + n (appended, not "S" + to_string: GCC 12 -O3 warns about that falsely, -Wrestrict).
std::string id(std::string prefix, int n) {
    prefix += std::to_string(n);
    return prefix;
}

// Subjects with 1 to 12 samples each.
std::vector<std::string> make_subjects(std::size_t n) {
    std::vector<std::string> subjects;
    for (int s = 0; subjects.size() < n; ++s)
        for (int i = 0; i < 1 + (s * 7) % 12 && subjects.size() < n; ++i) subjects.push_back(id("S", 100 + s));
    return subjects;
}

// Every index in exactly one test set; train is the complement, both sorted.
void check_partition(std::vector<mien::fold> const& folds, std::size_t n) {
    std::vector<int> seen(n, 0);
    for (auto const& f : folds) {
        CHECK(std::is_sorted(f.test.begin(), f.test.end()));
        CHECK(std::is_sorted(f.train.begin(), f.train.end()));
        CHECK(f.train.size() + f.test.size() == n);
        CHECK_FALSE(f.test.empty());
        for (auto i : f.test) seen[i]++;
        std::vector<std::size_t> both;
        std::set_intersection(f.train.begin(), f.train.end(), f.test.begin(), f.test.end(), std::back_inserter(both));
        CHECK(both.empty());
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
}

void check_subject_independent(std::vector<mien::fold> const& folds, std::vector<std::string> const& subjects) {
    for (auto const& f : folds) {
        std::set<std::string> test;
        for (auto i : f.test) test.insert(subjects[i]);
        for (auto i : f.train) CHECK(test.count(subjects[i]) == 0);
    }
}

}  // namespace

TEST_CASE("folds: stratified k-fold partitions, keeps class proportions, is seeded") {
    auto const labels = make_labels();
    for (std::size_t k : {2u, 5u, 10u}) {
        CAPTURE(k);
        auto const folds = mien::stratified_k_fold(labels, k, 42);
        REQUIRE(folds.size() == k);
        check_partition(folds, labels.size());
        std::size_t smallest = labels.size(), largest = 0;
        std::map<std::int32_t, std::pair<std::size_t, std::size_t>> per_class;  // min, max per fold
        for (auto const& f : folds) {
            smallest = std::min(smallest, f.test.size());
            largest = std::max(largest, f.test.size());
            std::map<std::int32_t, std::size_t> counts;
            for (auto i : f.test) counts[labels[i]]++;
            for (std::int32_t c = 0; c < 7; ++c) {
                auto& mm = per_class.try_emplace(c, labels.size(), 0).first->second;
                mm.first = std::min(mm.first, counts[c]);
                mm.second = std::max(mm.second, counts[c]);
            }
        }
        CHECK(largest - smallest <= 1);
        // Not a structured binding: CAPTURE makes a lambda, and clang 14 cannot capture one.
        for (auto const& entry : per_class) {
            std::int32_t const c = entry.first;
            CAPTURE(c);
            CHECK(entry.second.second - entry.second.first <= 1);
        }
    }
    CHECK(mien::stratified_k_fold(labels, 5, 42)[3].test == mien::stratified_k_fold(labels, 5, 42)[3].test);
    CHECK(mien::stratified_k_fold(labels, 5, 42)[3].test != mien::stratified_k_fold(labels, 5, 43)[3].test);
}

TEST_CASE("folds: subject k-fold never puts a subject in train and test, and balances fold sizes") {
    auto const subjects = make_subjects(150);
    std::map<std::string, std::size_t> per_subject;
    for (auto const& s : subjects) per_subject[s]++;
    std::size_t biggest = 0;
    for (auto const& [s, n] : per_subject) biggest = std::max(biggest, n);
    for (std::size_t k : {2u, 5u, 10u}) {
        CAPTURE(k);
        auto const folds = mien::subject_k_fold(subjects, k, 3);
        REQUIRE(folds.size() == k);
        check_partition(folds, subjects.size());
        check_subject_independent(folds, subjects);
        std::size_t smallest = subjects.size(), largest = 0;
        for (auto const& f : folds) {
            smallest = std::min(smallest, f.test.size());
            largest = std::max(largest, f.test.size());
        }
        CHECK(largest - smallest <= biggest);
    }
    auto const a = mien::subject_k_fold(subjects, 5, 3), b = mien::subject_k_fold(subjects, 5, 3);
    for (std::size_t f = 0; f < 5; ++f) CHECK(a[f].test == b[f].test);
    bool differs = false;
    auto const c = mien::subject_k_fold(subjects, 5, 4);
    for (std::size_t f = 0; f < 5; ++f) differs = differs || a[f].test != c[f].test;
    CHECK(differs);
}

TEST_CASE("folds: leave-one-subject-out has one fold per subject, in subject order") {
    std::vector<std::string> const subjects = {"S2", "S1", "S2", "S3", "S1", "S1"};
    auto const folds = mien::leave_one_subject_out(subjects);
    REQUIRE(folds.size() == 3);
    check_partition(folds, subjects.size());
    check_subject_independent(folds, subjects);
    CHECK(folds[0].test == std::vector<std::size_t>{1, 4, 5});
    CHECK(folds[1].test == std::vector<std::size_t>{0, 2});
    CHECK(folds[2].test == std::vector<std::size_t>{3});
    CHECK(folds[2].train == std::vector<std::size_t>{0, 1, 2, 4, 5});
}

TEST_CASE("folds: the same on a dataset's labels and subjects") {
    mien::dataset d;
    d.side = 1;
    std::uint8_t const pixel = 0;
    for (int i = 0; i < 12; ++i) d.add(&pixel, i % 3, id("f", i), id("P", i % 4));
    check_partition(mien::stratified_k_fold(d, 4, 1), 12);
    check_subject_independent(mien::subject_k_fold(d, 2, 1), d.subjects);
    CHECK(mien::leave_one_subject_out(d).size() == 4);
}

TEST_CASE("folds: bad arguments are errors") {
    std::vector<std::int32_t> const labels = {0, 1, 0};
    CHECK_THROWS_WITH_AS(mien::stratified_k_fold(labels, 1, 0), doctest::Contains("k must be at least 2"), mien::error);
    CHECK_THROWS_WITH_AS(mien::stratified_k_fold(labels, 4, 0), doctest::Contains("need at least 4 samples"), mien::error);
    std::vector<std::string> const subjects = {"A", "B", "A"};
    CHECK_THROWS_WITH_AS(mien::subject_k_fold(subjects, 3, 0), doctest::Contains("need at least 3 subjects, found 2"),
                         mien::error);
    CHECK_THROWS_WITH_AS(mien::subject_k_fold(std::vector<std::string>{"A", "", "B"}, 2, 0),
                         doctest::Contains("sample 1 has no subject id"), mien::error);
    CHECK_THROWS_WITH_AS(mien::leave_one_subject_out(std::vector<std::string>{"A", "A"}),
                         doctest::Contains("at least 2 subjects"), mien::error);
}

TEST_CASE("folds: check_folds accepts what the splitters make and names what breaks a protocol") {
    auto const subjects = make_subjects(60);
    auto const labels = make_labels();
    CHECK_NOTHROW(mien::check_folds(mien::subject_k_fold(subjects, 10, 1), subjects.size(), subjects));
    CHECK_NOTHROW(mien::check_folds(mien::leave_one_subject_out(subjects), subjects.size(), subjects));
    CHECK_NOTHROW(mien::check_folds(mien::stratified_k_fold(labels, 10, 1), labels.size()));

    std::vector<std::string> const people = {"A", "A", "B", "B"};
    std::vector<mien::fold> folds = {{{2, 3}, {0, 1}}, {{0, 1}, {2, 3}}};
    CHECK_NOTHROW(mien::check_folds(folds, 4, people));
    // A random split puts subject A in train and test: fine without subjects, an error with them.
    std::vector<mien::fold> const mixed = {{{1, 3}, {0, 2}}, {{0, 2}, {1, 3}}};
    CHECK_NOTHROW(mien::check_folds(mixed, 4));
    CHECK_THROWS_WITH_AS(mien::check_folds(mixed, 4, people),
                         doctest::Contains("subject A is in both train (sample 1) and test (sample 0) of fold 0"),
                         mien::error);
    auto broken = folds;
    broken[1].train = {0, 1, 2};  // 2 in train and test
    CHECK_THROWS_WITH_AS(mien::check_folds(broken, 4), doctest::Contains("sample 2 is twice in fold 1 (test and train)"),
                         mien::error);
    broken = folds;
    broken[0].train = {2};  // 3 nowhere
    CHECK_THROWS_WITH_AS(mien::check_folds(broken, 4), doctest::Contains("sample 3 is in neither train nor test of fold 0"),
                         mien::error);
    broken = folds;
    broken[1] = folds[0];  // 0 and 1 never tested, 2 and 3 tested twice
    CHECK_THROWS_WITH_AS(mien::check_folds(broken, 4), doctest::Contains("sample 0 is in 2 test sets, expected exactly 1"),
                         mien::error);
    broken = folds;
    broken[0].test = {0, 1, 7};
    CHECK_THROWS_WITH_AS(mien::check_folds(broken, 4), doctest::Contains("fold 0 holds sample 7, but there are 4 samples"),
                         mien::error);
}
