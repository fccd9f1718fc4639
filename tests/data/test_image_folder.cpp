// load_image_folder on generated folders: a non-image file, an image of the wrong size, an
// unknown label folder, an empty split (errors naming the file, or skipped and counted); and
// the FER2013 validation split when ../shared/data is there.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/data/image_folder.hpp>

#include "support/data_dir.hpp"
#include "support/io_test.hpp"

namespace {

using mien::testing::temp_dir;
namespace fs = std::filesystem;

void write_image(fs::path const& path, int side, int value) {
    fs::create_directories(path.parent_path());
    REQUIRE(cv::imwrite(path.string(), cv::Mat(side, side, CV_8UC1, cv::Scalar(value))));
}

// root/angry/a.png, root/happy/b.png, root/happy/c.png (48x48, values 10, 20, 30)
void good_set(fs::path const& root) {
    write_image(root / "angry" / "a.png", 48, 10);
    write_image(root / "happy" / "b.png", 48, 20);
    write_image(root / "happy" / "c.png", 48, 30);
}

}  // namespace

TEST_CASE("image_folder: loads <root>/<label>/<image> in sorted order") {
    temp_dir dir;
    good_set(dir.path());
    std::ofstream(dir / "README.md") << "top-level files are not labels\n";
    std::ofstream(dir / "happy" / ".DS_Store") << "hidden";
    auto const d = mien::load_image_folder(dir.path());
    REQUIRE(d.size() == 3);
    CHECK(d.labels == std::vector<std::int32_t>{0, 3, 3});
    CHECK(d.face(0)[0] == 10);
    CHECK(d.face(2)[47 * 48 + 47] == 30);
    CHECK(fs::path(d.sources[1]).filename() == "b.png");
    CHECK(d.skipped == 0);
}

TEST_CASE("image_folder: a non-image file is an error naming it, or skipped and counted") {
    temp_dir dir;
    good_set(dir.path());
    std::ofstream(dir / "happy" / "notes.txt") << "not an image";
    std::ofstream(dir / "happy" / "broken.png") << "not a PNG either";
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir.path()), doctest::Contains("broken.png is not a readable image"),
                         mien::error);
    mien::folder_options o;
    o.skip_bad = true;
    auto const d = mien::load_image_folder(dir.path(), o);
    CHECK(d.size() == 3);
    CHECK(d.skipped == 2);
}

TEST_CASE("image_folder: an image of the wrong size is an error, or resized, or skipped") {
    temp_dir dir;
    good_set(dir.path());
    write_image(dir / "sad" / "big.png", 64, 200);
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir.path()), doctest::Contains("big.png is 64x64, expected 48x48"),
                         mien::error);
    mien::folder_options o;
    o.resize = true;
    auto const resized = mien::load_image_folder(dir.path(), o);
    REQUIRE(resized.size() == 4);
    CHECK(resized.labels[3] == 4);
    CHECK(resized.face(3)[0] == 200);
    o.resize = false;
    o.skip_bad = true;
    auto const skipped = mien::load_image_folder(dir.path(), o);
    CHECK(skipped.size() == 3);
    CHECK(skipped.skipped == 1);
}

TEST_CASE("image_folder: an unknown label folder is an error, or skipped, ignored or mapped") {
    temp_dir dir;
    good_set(dir.path());
    write_image(dir / "bored" / "x.png", 48, 40);
    write_image(dir / "bored" / "y.png", 48, 50);
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir.path()), doctest::Contains("unknown label folder"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir.path()), doctest::Contains("bored"), mien::error);

    mien::folder_options o;
    o.skip_bad = true;
    auto const skipped = mien::load_image_folder(dir.path(), o);
    CHECK(skipped.size() == 3);
    CHECK(skipped.skipped == 1);  // one folder

    mien::folder_options ignore;
    ignore.ignore_labels = {"bored"};
    auto const ignored = mien::load_image_folder(dir.path(), ignore);
    CHECK(ignored.size() == 3);
    CHECK(ignored.skipped == 0);

    mien::folder_options mapped;
    mapped.extra_labels = {{"bored", mien::expression_index("neutral")}};
    auto const d = mien::load_image_folder(dir.path(), mapped);
    REQUIRE(d.size() == 5);
    CHECK(d.labels[1] == 6);  // "bored" sorts before "happy"
    CHECK(d.labels[2] == 6);
}

TEST_CASE("image_folder: hostile files: a 0-byte .png and a text .jpg are errors naming them; a 16-bit PNG reads as 8-bit") {
    temp_dir dir;
    fs::create_directories(dir / "zero" / "angry");
    std::ofstream(dir / "zero" / "angry" / "empty.png").close();
    CHECK(mien::testing::error_of([&] { mien::load_image_folder(dir / "zero"); }) ==
          "load_image_folder: " + (dir / "zero" / "angry" / "empty.png").string() + " is not a readable image");
    fs::create_directories(dir / "text" / "sad");
    std::ofstream(dir / "text" / "sad" / "notes.jpg") << "not a photo\n";
    CHECK(mien::testing::error_of([&] { mien::load_image_folder(dir / "text"); }) ==
          "load_image_folder: " + (dir / "text" / "sad" / "notes.jpg").string() + " is not a readable image");

    // 16 bits per pixel (v * 257): OpenCV's grayscale read keeps the high byte, v.
    cv::Mat deep(48, 48, CV_16UC1);
    for (int i = 0; i < 48 * 48; ++i) deep.at<std::uint16_t>(i / 48, i % 48) = std::uint16_t((i % 256) * 257);
    fs::create_directories(dir / "deep" / "happy");
    REQUIRE(cv::imwrite((dir / "deep" / "happy" / "face16.png").string(), deep));
    auto const d = mien::load_image_folder(dir / "deep");
    REQUIRE(d.size() == 1);
    bool same = true;
    for (int i = 0; i < 48 * 48; ++i) same = same && d.face(0)[i] == i % 256;
    CHECK(same);
}

TEST_CASE("image_folder: subject ids from file names") {
    temp_dir dir;
    good_set(dir.path());
    mien::folder_options o;
    o.subject_of = [](std::string const& name) { return name.substr(0, 1); };
    auto const d = mien::load_image_folder(dir.path(), o);
    CHECK(d.subjects == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("image_folder: an empty split or a missing folder is a clear error") {
    temp_dir dir;
    fs::create_directories(dir / "val" / "happy");
    fs::create_directories(dir / "val" / "sad");
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir / "val"), doctest::Contains("no images found under"), mien::error);
    fs::create_directories(dir / "test");
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir / "test"), doctest::Contains("no images found"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir / "train"), doctest::Contains("is not a directory"), mien::error);
    // Everything skipped is still empty.
    write_image(dir / "bad" / "happy" / "big.png", 50, 1);
    mien::folder_options o;
    o.skip_bad = true;
    CHECK_THROWS_WITH_AS(mien::load_image_folder(dir / "bad", o), doctest::Contains("no images found"), mien::error);
}

TEST_CASE("image_folder: the FER2013 validation split matches its README") {
    MIEN_REQUIRE_DATA_SET(fer, "fer2013");
    auto const d = mien::load_image_folder(fer / "val");
    CHECK(d.size() == 3589);
    CHECK(d.class_counts(mien::expression_count) == std::vector<std::size_t>{467, 56, 496, 895, 653, 415, 607});
}
