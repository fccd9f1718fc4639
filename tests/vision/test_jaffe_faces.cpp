// The JAFFE loader (mien/vision/jaffe_faces.hpp): the centre-crop fallback on generated photos
// without a face, bad files; and the real 213 photos when ../shared/data is there.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/data/folds.hpp>
#include <mien/vision/jaffe_faces.hpp>

#include "support/data_dir.hpp"
#include "support/io_test.hpp"

namespace {

using mien::testing::temp_dir;
namespace fs = std::filesystem;

// A 256x256 gray photo with no face: a vertical gradient.
void write_photo(fs::path const& path) {
    cv::Mat image(256, 256, CV_8UC1);
    for (int y = 0; y < 256; ++y) image.row(y).setTo(cv::Scalar(y));
    REQUIRE(cv::imwrite(path.string(), image));
}

}  // namespace

TEST_CASE("jaffe: photos without a face are centre-cropped and reported") {
    temp_dir dir;
    write_photo(dir / "KA.AN1.39.tiff");
    write_photo(dir / "KA.HA2.30.tiff");
    write_photo(dir / "UY.SU1.140.tiff");
    std::ofstream(dir / "README.md") << "not an image: ignored\n";
    std::ofstream(dir / ".DS_Store") << "hidden: ignored";
    mien::face_load_report report;
    mien::jaffe_options margin_01;  // a fixed framing: the geometry below is for margin 0.1, no offset
    margin_01.crop = {.margin = 0.1, .side = 48, .offset = 0.0};
    auto const d = mien::load_jaffe(dir.path(), margin_01, &report);
    REQUIRE(d.size() == 3);
    CHECK(d.side == 48);
    CHECK(d.labels == std::vector<std::int32_t>{0, 3, 5});
    CHECK(d.subjects == std::vector<std::string>{"KA", "KA", "UY"});
    CHECK(report.images == 3);
    CHECK(report.detected == 0);
    CHECK(report.centre_cropped.size() == 3);
    // The fallback box: 0.625 x 256 = 160 px centred, plus the 0.1 margin: rows 32..223 of the
    // gradient, so the crop's first and last rows are dark and bright.
    CHECK(int(d.face(0)[0]) == doctest::Approx(34).epsilon(0.1));
    CHECK(int(d.face(0)[47 * 48]) == doctest::Approx(221).epsilon(0.1));

    mien::jaffe_options no_detector;
    no_detector.detect = false;
    no_detector.crop.side = 32;
    auto const small = mien::load_jaffe(dir.path(), no_detector, &report);
    CHECK(small.side == 32);
    CHECK(small.pixels.size() == 3u * 32 * 32);
    CHECK(report.centre_cropped.size() == 3);
}

TEST_CASE("jaffe: a badly named or unreadable image is an error, or skipped and counted") {
    temp_dir dir;
    write_photo(dir / "KA.AN1.39.tiff");
    write_photo(dir / "portrait.tiff");
    std::ofstream(dir / "KA.DI1.42.tiff") << "not a TIFF";
    mien::jaffe_options o;
    o.detect = false;
    CHECK_THROWS_WITH_AS(mien::load_jaffe(dir.path(), o), doctest::Contains("KA.DI1.42.tiff is not a readable image"),
                         mien::error);
    fs::remove(dir / "KA.DI1.42.tiff");
    CHECK_THROWS_WITH_AS(mien::load_jaffe(dir.path(), o), doctest::Contains("portrait.tiff: not a JAFFE file name"),
                         mien::error);
    o.skip_bad = true;
    std::ofstream(dir / "KA.DI1.42.tiff") << "not a TIFF";
    auto const d = mien::load_jaffe(dir.path(), o);
    CHECK(d.size() == 1);
    CHECK(d.skipped == 2);

    temp_dir empty;
    CHECK_THROWS_WITH_AS(mien::load_jaffe(empty.path(), o), doctest::Contains("no JAFFE images"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_jaffe(empty / "nothing", o), doctest::Contains("is not a directory"), mien::error);
}

TEST_CASE("jaffe: the real data set, 213 photos of 10 subjects, faces detected") {
    MIEN_REQUIRE_DATA_SET(jaffe, "jaffe");
    mien::face_load_report report;
    auto const d = mien::load_jaffe(jaffe, {}, &report);
    CHECK(d.size() == 213);
    CHECK(d.skipped == 0);
    // README: AN 30, DI 29, FE 32, HA 31, NE 30, SA 31, SU 30 (in mien's class order below).
    CHECK(d.class_counts(mien::expression_count) == std::vector<std::size_t>{30, 29, 32, 31, 31, 30, 30});
    std::map<std::string, std::size_t> per_subject;
    for (auto const& s : d.subjects) per_subject[s]++;
    CHECK(per_subject == std::map<std::string, std::size_t>{{"KA", 23}, {"KL", 22}, {"KM", 22}, {"KR", 20}, {"MK", 21},
                                                            {"NA", 21}, {"NM", 20}, {"TM", 21}, {"UY", 21}, {"YM", 22}});
    MESSAGE("JAFFE: the face detector found a face in " << report.detected << " of " << report.images << " photos");
    CHECK(report.detected >= 200);  // 213 with the default detector settings and OpenCV 4.6
    for (auto const& f : report.centre_cropped) MESSAGE("no face found, centre-cropped: " << f);

    // Subject-independent folds: no person in both train and test.
    for (auto const& f : mien::subject_k_fold(d, 10, 1)) {
        std::set<std::string> test_subjects;
        for (auto i : f.test) test_subjects.insert(d.subjects[i]);
        CHECK(test_subjects.size() == 1);
        for (auto i : f.train) CHECK(test_subjects.count(d.subjects[i]) == 0);
    }
}
