// The CK+48 loader: subject ids from file names, the contempt policy, on generated folders;
// the real per-class counts of the README when ../shared/data is there.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/data/ckplus.hpp>
#include <mien/data/folds.hpp>

#include "support/data_dir.hpp"
#include "support/io_test.hpp"

namespace {

using mien::testing::temp_dir;
namespace fs = std::filesystem;

void write_face(fs::path const& path, int side = 48) {
    fs::create_directories(path.parent_path());
    REQUIRE(cv::imwrite(path.string(), cv::Mat(side, side, CV_8UC1, cv::Scalar(128))));
}

}  // namespace

TEST_CASE("ckplus: subject ids from file names") {
    CHECK(mien::ckplus_subject("S010_004_00000017.png") == "S010");
    CHECK(mien::ckplus_subject("S5_1_2.png") == "S5");
    CHECK(mien::ckplus_subject("S010.png") == "");
    CHECK(mien::ckplus_subject("X010_004_00000017.png") == "");
    CHECK(mien::ckplus_subject("S_004.png") == "");
    CHECK(mien::ckplus_subject("") == "");
}

TEST_CASE("ckplus: contempt is dropped by default, or counted as neutral") {
    temp_dir dir;
    write_face(dir / "anger" / "S010_004_00000017.png");
    write_face(dir / "contempt" / "S011_001_00000010.png");
    write_face(dir / "contempt" / "S011_001_00000011.png");
    write_face(dir / "sadness" / "S012_002_00000005.png");
    write_face(dir / "surprise" / "S010_006_00000020.png");

    auto const dropped = mien::load_ckplus(dir.path());
    CHECK(dropped.size() == 3);
    CHECK(dropped.labels == std::vector<std::int32_t>{0, 4, 5});
    CHECK(dropped.subjects == std::vector<std::string>{"S010", "S012", "S010"});
    CHECK(dropped.skipped == 0);

    mien::ckplus_options o;
    o.contempt = mien::contempt_policy::neutral;
    auto const neutral = mien::load_ckplus(dir.path(), o);
    CHECK(neutral.size() == 5);
    CHECK(neutral.labels == std::vector<std::int32_t>{0, 6, 6, 4, 5});
    CHECK(neutral.subjects[1] == "S011");
}

TEST_CASE("ckplus: bad files are errors, or skipped and counted") {
    temp_dir dir;
    write_face(dir / "happy" / "S010_004_00000017.png");
    write_face(dir / "happy" / "S010_004_00000018.png", 64);
    CHECK_THROWS_WITH_AS(mien::load_ckplus(dir.path()), doctest::Contains("is 64x64, expected 48x48"), mien::error);
    mien::ckplus_options o;
    o.skip_bad = true;
    auto const d = mien::load_ckplus(dir.path(), o);
    CHECK(d.size() == 1);
    CHECK(d.skipped == 1);
}

TEST_CASE("ckplus: the real CK+48 counts match its README") {
    MIEN_REQUIRE_DATA_SET(ck, "ckplus");
    auto const d = mien::load_ckplus(ck);
    CHECK(d.size() == 927);
    CHECK(d.skipped == 0);
    // README: anger 135, disgust 177, fear 75, happy 207, sadness 84, surprise 249, no neutral.
    CHECK(d.class_counts(mien::expression_count) == std::vector<std::size_t>{135, 177, 75, 207, 84, 249, 0});

    mien::ckplus_options o;
    o.contempt = mien::contempt_policy::neutral;
    auto const all = mien::load_ckplus(ck, o);
    CHECK(all.size() == 981);
    CHECK(all.class_counts(mien::expression_count)[6] == 54);  // contempt
    std::set<std::string> const subjects(all.subjects.begin(), all.subjects.end());
    CHECK(subjects.size() == 118);
    CHECK(subjects.count("") == 0);

    // Subject-independent 10-fold: no subject in both, fold sizes within one subject's faces.
    std::map<std::string, std::size_t> per_subject;
    for (auto const& s : d.subjects) per_subject[s]++;
    std::size_t biggest_subject = 0;
    for (auto const& [s, n] : per_subject) biggest_subject = std::max(biggest_subject, n);
    auto const folds = mien::subject_k_fold(d, 10, 7);
    std::size_t smallest = d.size(), largest = 0;
    for (auto const& f : folds) {
        std::set<std::string> test_subjects;
        for (auto i : f.test) test_subjects.insert(d.subjects[i]);
        for (auto i : f.train) CHECK(test_subjects.count(d.subjects[i]) == 0);
        smallest = std::min(smallest, f.test.size());
        largest = std::max(largest, f.test.size());
    }
    CHECK(largest - smallest <= biggest_subject);
}
