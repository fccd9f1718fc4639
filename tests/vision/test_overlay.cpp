// overlay: boxes, labels, bars and the status line are drawn into the frame with mien's own
// loops (no allocation: tests/vision/test_no_allocation_vision.cpp).
#include <doctest/doctest.h>

#include <opencv2/core.hpp>

#include <mien/vision/overlay.hpp>

TEST_CASE("overlay: a face's box in its expression's colour, its label and bars; the status line") {
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
    mien::overlay const draw(frame.size());
    mien::recognized_face face;
    face.box = cv::Rect(200, 150, 120, 120);
    face.probabilities = {0.0f, 0.0f, 0.0f, 0.9f, 0.05f, 0.0f, 0.05f};
    face.label = 3;  // happy: yellow
    face.id = 7;
    draw.face(frame, face);
    cv::Scalar const happy = mien::expression_colour(3);
    cv::Vec3b const edge = frame.at<cv::Vec3b>(150, 260);  // on the top edge
    CHECK(edge == cv::Vec3b(uchar(happy[0]), uchar(happy[1]), uchar(happy[2])));
    CHECK(frame.at<cv::Vec3b>(210, 260) == cv::Vec3b(0, 0, 0));  // inside the box: untouched
    // The label box above the face holds text: dark glyph pixels on the colour.
    cv::Mat const label = frame(cv::Rect(200, 150 - 2 * draw.line_height(), 60, 2 * draw.line_height() - 4));
    CHECK(cv::countNonZero(label.reshape(1)) > 0);
    // The happy bar (4th row) is long, the angry one a single pixel wide.
    int const right = 320 + 6;
    cv::Mat const panel = frame(cv::Rect(right, 150, 640 - right, 7 * draw.line_height()));
    CHECK(cv::countNonZero(panel.reshape(1)) > 0);
    cv::Mat status(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
    draw.status(status, "frame 12.3 ms (p99 20.1 ms)");
    CHECK(cv::countNonZero(status(cv::Rect(0, 0, 200, draw.line_height() + 6)).reshape(1)) > 50);
    cv::Mat gray(480, 640, CV_8UC1);
    CHECK_THROWS_WITH_AS(draw.status(gray, "x"), doctest::Contains("8-bit BGR"), mien::error);
}
