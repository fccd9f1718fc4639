// mien/vision/gray.hpp -- an 8-bit grayscale view of a camera frame or a decoded photo (OpenCV).
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../core/error.hpp"

namespace mien {

// `image` as 8-bit, one channel: gray is returned as is (shared pixels), BGR and BGRA are
// converted. Other depths or channel counts are an error.
inline cv::Mat to_gray(cv::Mat const& image) {
    if (image.depth() != CV_8U) fail("to_gray: expected an 8-bit image, found OpenCV depth %d", image.depth());
    cv::Mat gray;
    switch (image.channels()) {
        case 1: return image;
        case 3: cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY); return gray;
        case 4: cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY); return gray;
        default: fail("to_gray: expected 1, 3 or 4 channels, found %d", image.channels());
    }
}

}  // namespace mien
