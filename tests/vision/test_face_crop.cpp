// Face crops (square box with a margin, border padding, gray, 48x48, uint8 and [0, 1] floats)
// and the face detector: the cascade is found without configuration, bad paths are errors, and
// on the real photos of ../shared/data/faces that show one frontal face it finds exactly one.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/vision/face_crop.hpp>
#include <mien/vision/face_detector.hpp>

#include "support/data_dir.hpp"
#include "support/face_photos.hpp"
#include "support/io_test.hpp"

TEST_CASE("face_crop: the square box around a face, with a margin") {
    cv::Rect const box = mien::square_box(cv::Rect(10, 20, 40, 60), 0.1);  // longer side 60 -> 72
    CHECK(box == cv::Rect(-6, 14, 72, 72));                                 // centred on (30, 50)
    CHECK(mien::square_box(cv::Rect(0, 0, 50, 50), 0.0) == cv::Rect(0, 0, 50, 50));
    CHECK(mien::square_box(cv::Rect(100, 100, 50, 50), 0.5) == cv::Rect(75, 75, 100, 100));
    CHECK(mien::centre_box(cv::Size(256, 200), 0.5) == cv::Rect(78, 50, 100, 100));
    CHECK(mien::centre_box(cv::Size(256, 256)) == cv::Rect(0, 0, 256, 256));
    CHECK_THROWS_WITH_AS(mien::square_box(cv::Rect(0, 0, 0, 5), 0.1), doctest::Contains("empty face box"), mien::error);
    CHECK_THROWS_WITH_AS(mien::square_box(cv::Rect(0, 0, 5, 5), -0.5), doctest::Contains("margin"), mien::error);
}

TEST_CASE("face_crop: gray 48x48 output, as uint8 or floats in [0, 1]") {
    // A BGR image: the left half blue-ish dark, the right half bright.
    cv::Mat image(200, 200, CV_8UC3, cv::Scalar(40, 40, 40));
    image(cv::Rect(100, 0, 100, 200)).setTo(cv::Scalar(220, 220, 220));
    cv::Rect const face(50, 50, 100, 100);
    cv::Mat const crop = mien::crop_face(image, face, {.margin = 0.0, .side = 48});
    REQUIRE(crop.type() == CV_8UC1);
    REQUIRE(crop.rows == 48);
    REQUIRE(crop.cols == 48);
    CHECK(crop.isContinuous());
    CHECK(int(crop.at<std::uint8_t>(10, 5)) == 40);
    CHECK(int(crop.at<std::uint8_t>(10, 42)) == 220);

    std::vector<float> const floats = mien::crop_face_float(image, face, {.margin = 0.0, .side = 48});
    REQUIRE(floats.size() == 48u * 48u);
    for (int i = 0; i < 48 * 48; ++i) CHECK(floats[std::size_t(i)] == float(crop.data[i]) / 255.0f);

    cv::Mat const small = mien::crop_face(image, face, {.margin = 0.25, .side = 24});
    CHECK(small.size() == cv::Size(24, 24));
}

TEST_CASE("face_crop: a box at the border is padded by repeating the edge, keeping the face centred") {
    cv::Mat image(100, 100, CV_8UC1, cv::Scalar(0));
    image.col(0).setTo(cv::Scalar(255));  // a bright left edge
    // A 40x40 face at the top-left corner with margin 0.5: an 80x80 crop from (-20, -20).
    cv::Mat const crop = mien::crop_face(image, cv::Rect(0, 0, 40, 40), {.margin = 0.5, .side = 80});
    CHECK(int(crop.at<std::uint8_t>(40, 0)) == 255);   // padding repeats the bright column
    CHECK(int(crop.at<std::uint8_t>(40, 19)) == 255);
    CHECK(int(crop.at<std::uint8_t>(40, 20)) == 255);  // the image's column 0
    CHECK(int(crop.at<std::uint8_t>(40, 21)) == 0);
    CHECK_THROWS_WITH_AS(mien::crop_face(image, cv::Rect(300, 300, 10, 10)), doctest::Contains("outside"), mien::error);
    CHECK_THROWS_WITH_AS(mien::crop_face(cv::Mat(), cv::Rect(0, 0, 10, 10)), doctest::Contains("empty image"),
                         mien::error);
}

TEST_CASE("face_detector: finds its cascade, rejects bad ones, sees no face in a blank image") {
    mien::face_detector detector;
    CHECK(detector.cascade_path().filename() == "haarcascade_frontalface_default.xml");
    CHECK(detector.detect(cv::Mat(480, 640, CV_8UC3, cv::Scalar(128, 128, 128))).empty());
    CHECK(detector.detect(cv::Mat()).empty());
    CHECK_FALSE(detector.detect_largest(cv::Mat(100, 100, CV_8UC1, cv::Scalar(0))));

    mien::face_detector_options missing;
    missing.cascade = "/nonexistent/cascade.xml";
    CHECK_THROWS_WITH_AS(mien::face_detector{missing}, doctest::Contains("/nonexistent/cascade.xml does not exist"),
                         mien::error);
    mien::testing::temp_dir dir;
    std::ofstream(dir / "cascade.xml") << "<?xml version=\"1.0\"?>\n<opencv_storage></opencv_storage>\n";
    std::ofstream(dir / "text.xml") << "not xml at all";
    mien::face_detector_options not_a_cascade;
    not_a_cascade.cascade = (dir / "cascade.xml").string();
    CHECK_THROWS_WITH_AS(mien::face_detector{not_a_cascade}, doctest::Contains("not a readable OpenCV cascade"),
                         mien::error);
    not_a_cascade.cascade = (dir / "text.xml").string();
    CHECK_THROWS_WITH_AS(mien::face_detector{not_a_cascade}, doctest::Contains("not a readable OpenCV cascade"),
                         mien::error);
}

TEST_CASE("face_detector: exactly one face in each one-face photo of shared/data/faces") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    mien::face_detector detector;
    for (auto const& name : mien::testing::one_face_photos()) {
        CAPTURE(name);
        cv::Mat const image = cv::imread((faces / name).string(), cv::IMREAD_COLOR);
        REQUIRE_FALSE(image.empty());
        auto const boxes = detector.detect(image);
        CHECK(boxes.size() == 1);
        if (boxes.size() != 1) continue;
        // A face, not a speck: at least a tenth of the shorter side, inside the image.
        CHECK(boxes[0].width >= std::min(image.cols, image.rows) / 10);
        CHECK((boxes[0] & cv::Rect(0, 0, image.cols, image.rows)) == boxes[0]);
        cv::Mat const crop = mien::crop_face(image, boxes[0]);
        CHECK(crop.size() == cv::Size(48, 48));
    }
}

TEST_CASE("face_crop: the offset moves the square down (or up) by a fraction of the box") {
    CHECK(mien::square_box(cv::Rect(100, 100, 50, 50), 0.0, 0.2) == cv::Rect(100, 110, 50, 50));
    CHECK(mien::square_box(cv::Rect(100, 100, 40, 60), 0.0, -0.1) == cv::Rect(90, 94, 60, 60));
    CHECK_THROWS_WITH_AS(mien::square_box(cv::Rect(0, 0, 5, 5), 0.1, 1.5), doctest::Contains("offset"), mien::error);
    cv::Mat image(100, 100, CV_8UC1, cv::Scalar(0));
    image.rowRange(0, 50).setTo(cv::Scalar(255));  // bright top half
    // A box on the boundary; moved up by half its side, the crop is all bright.
    cv::Mat const up = mien::crop_face(image, cv::Rect(40, 40, 20, 20), {.margin = 0.0, .side = 20, .offset = -0.5});
    CHECK(cv::countNonZero(up) == 400);
    cv::Mat const down = mien::crop_face(image, cv::Rect(40, 40, 20, 20), {.margin = 0.0, .side = 20, .offset = 0.5});
    CHECK(cv::countNonZero(down) == 0);
}
