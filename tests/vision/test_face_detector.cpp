// face_detector: the smallest face a search finds, which the detection size trades for speed (docs/RECOGNIZER.md, "Real time"), and the defaults that set it.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>

#include <mien/vision/face_detector.hpp>

TEST_CASE("face_detector: smallest_face is the first window of the search, in image pixels") {
    mien::face_detector const defaults;
    CHECK(defaults.options().detect_side == 320);       // a photo: recall first
    CHECK(defaults.options().part_detect_side == 280);  // a video's search in parts: the frame budget
    // 640x480 searched at 280x210: the cascade's 24 px window is 24 * 640 / 280 = 54.9 px.
    CHECK(defaults.smallest_face(cv::Size(640, 480), 8) == 55);
    CHECK(defaults.smallest_face(cv::Size(480, 640), 8) == 55);      // portrait: the longer side
    CHECK(defaults.smallest_face(cv::Size(1280, 720), 8) == 110);
    CHECK(defaults.copy_scale(cv::Size(640, 480), 8) == doctest::Approx(280.0 / 640.0));
    // A whole-image search (a photo, or --search-parts 1) at 320x240: 24 * 2 = 48 px.
    CHECK(defaults.smallest_face(cv::Size(640, 480)) == 48);
    CHECK(defaults.smallest_face(cv::Size(1280, 720)) == 96);        // a 104 px face is found
    CHECK(defaults.copy_scale(cv::Size(640, 480), 1) == doctest::Approx(0.5));
    // A JAFFE photo (256x256) is not scaled: min_face_fraction (0.1 x 256 = 25.6 px) passes the
    // 24 px window, so the first window is the next scale, 24 x 1.05 = 25.2, rounded to 25.
    CHECK(defaults.copy_scale(cv::Size(256, 256)) == 1.0);
    CHECK(defaults.smallest_face(cv::Size(256, 256)) == 25);
    CHECK(defaults.smallest_face(cv::Size(256, 256), 8) == 25);
    mien::face_detector_options o;
    o.part_detect_side = 320;
    mien::face_detector const wider(o);
    CHECK(wider.smallest_face(cv::Size(640, 480), 8) == 48);
    // Full size: min_face_fraction (48 px of 480) sets it: 24 x 1.05^14 = 47.5, rounded to 48.
    o.detect_side = 0;
    o.part_detect_side = 0;
    mien::face_detector const full(o);
    CHECK(full.smallest_face(cv::Size(640, 480)) == 48);
    CHECK(full.smallest_face(cv::Size(640, 480), 8) == 48);
    CHECK(defaults.smallest_face(cv::Size(20, 20)) == 0);  // smaller than the window: nothing is searched
}
