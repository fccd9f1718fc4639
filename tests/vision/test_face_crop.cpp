// Face crops (square box with a margin, border padding, gray, 48x48, uint8 and [0, 1] floats)
// and the face detector: the cascade is found without configuration, bad paths are errors, and
// on the real photos of ../shared/data/faces that show one frontal face it finds exactly one.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <mien/vision/face_crop.hpp>
#include <mien/vision/face_detector.hpp>
#include <mien/vision/recognizer.hpp>  // mien::iou

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

TEST_CASE("face_cropper: the crop of crop_face, within a gray level, without rounding; bit for bit on uniform blocks") {
    // A textured gray image: every crop path (area shrink, bilinear enlarge, border repeat) sees
    // different pixels.
    cv::Mat image(240, 320, CV_8UC1);
    cv::randu(image, 0, 256);
    cv::GaussianBlur(image, image, cv::Size(5, 5), 1.5);
    mien::face_cropper cropper;
    std::vector<float> out(48 * 48);
    std::vector<cv::Rect> const boxes{
        {100, 60, 120, 120},  // shrink by 2.5 (area)
        {10, 10, 96, 96},     // shrink by exactly 2
        {150, 100, 30, 30},   // enlarge (bilinear)
        {-20, -30, 90, 110},  // reaches outside: border repeated
        {250, 180, 100, 80},  // the other corner, outside
        {140, 100, 48, 48},   // the same size: a copy
    };
    for (auto const& box : boxes) {
        CAPTURE(box);
        cropper.crop(image, box, out.data());
        std::vector<float> const expected = mien::crop_face_float(image, box);
        float worst = 0;
        for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - expected[i]));
        CHECK(worst <= 1.01f / 255.0f);  // crop_face rounds to 8 bits; bilinear uses fixed point
        CHECK(worst > 0.0f);             // ...so they are not the same numbers: the check can fail
    }
    // 4x4 blocks of one value shrunk 4x: exactly the block values / 255, as crop_face gives.
    cv::Mat small(48, 48, CV_8UC1), big;
    cv::randu(small, 0, 256);
    cv::resize(small, big, cv::Size(192, 192), 0, 0, cv::INTER_NEAREST);
    mien::face_cropper exact({.margin = 0.0, .side = 48, .offset = 0.0});
    exact.crop(big, cv::Rect(0, 0, 192, 192), out.data());
    for (int i = 0; i < 48 * 48; ++i) REQUIRE(out[std::size_t(i)] == float(small.data[i]) / 255.0f);
    CHECK_THROWS_WITH_AS(cropper.crop(cv::Mat(10, 10, CV_8UC3), cv::Rect(0, 0, 5, 5), out.data()),
                         doctest::Contains("8-bit gray"), mien::error);
    CHECK_THROWS_WITH_AS(cropper.crop(image, cv::Rect(1000, 1000, 20, 20), out.data()), doctest::Contains("outside"),
                         mien::error);
}

TEST_CASE("face_detector: the parts of the whole-image search cover every face size once") {
    mien::face_detector detector;
    for (cv::Size const size : {cv::Size(320, 240), cv::Size(320, 180), cv::Size(120, 120)}) {
        for (std::size_t parts = 1; parts <= 16; ++parts) {
            CAPTURE(size);
            CAPTURE(parts);
            int const min_side = int(0.1 * std::min(size.width, size.height));
            int next = 0;  // the smallest window the next band must start above
            int bands = 0;
            for (std::size_t part = 0; part < parts; ++part) {
                auto const band = detector.size_band(size, min_side, part, parts);
                if (!band) continue;
                ++bands;
                CHECK(band->first.width > next);  // no size searched twice, in order
                CHECK(band->first.width <= band->second.width);
                next = band->second.width;
            }
            CHECK(bands >= 1);
            auto const whole = detector.size_band(size, min_side, 0, 1);
            REQUIRE(whole);
            CHECK(next == whole->second.width);  // the last band ends at the largest size
            CHECK(detector.size_band(size, min_side, 0, parts)->first == whole->first);  // the first starts at the smallest
        }
    }
}

TEST_CASE("face_detector: the raw hits of all the parts, grouped, are the whole-image search") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    mien::face_detector_options o;
    o.part_detect_side = o.detect_side;  // the same copy for both, so the searches compare
    mien::face_detector detector(o);
    for (std::string const name : {"WuJie1010_1.jpg", "bartoszpanek1_angry.jpg", "vinayakvivek_face.jpg"}) {
        CAPTURE(name);
        cv::Mat const image = cv::imread((faces / name).string(), cv::IMREAD_GRAYSCALE);
        REQUIRE_FALSE(image.empty());
        std::vector<cv::Rect> whole, part;
        detector.detect(image, whole);
        detector.detect_part(image, 0, 1, part);
        CHECK(part == whole);
        for (std::size_t parts : {3u, 8u}) {
            std::vector<cv::Rect> hits;
            for (std::size_t k = 0; k < parts; ++k) detector.detect_part_hits(image, k, parts, hits);
            cv::groupRectangles(hits, detector.options().min_neighbors, 0.2);
            // detect() maps the grouped boxes of the small copy back; the hits were mapped one by
            // one, so a box may differ by the rounding of the scale: compare with a tolerance.
            REQUIRE(hits.size() == whole.size());
            mien::face_detector::sort_largest_first(hits);
            for (std::size_t i = 0; i < hits.size(); ++i) CHECK(mien::iou(hits[i], whole[i]) > 0.9);
        }
    }
}
