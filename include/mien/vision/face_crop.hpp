// mien/vision/face_crop.hpp -- a detected face box to the network's 48x48 gray input (OpenCV).
//
//   auto box = detector.detect_largest(frame);               // mien/vision/face_detector.hpp
//   cv::Mat face = mien::crop_face(frame, *box);             // 48x48 CV_8UC1
//   mien::crop_face(frame, *box, input.data());              // or 48*48 floats in [0, 1]
//
// The crop is the square centred on the box, its side the box's longer side plus `margin` of it
// on each side (margin 0.1: 1.2 x the box; negative: inside the box), its centre moved down by `offset` of the box's
// longer side (negative: up). Where the square leaves the image, the border pixels are
// repeated, so the face stays centred. The square is converted to gray and resized to
// side x side (area averaging when shrinking, bilinear when enlarging).
//
// The defaults were chosen by measuring the whole pipeline (Haar detection, this crop, the
// FER2013-trained paper network, no fine-tuning) on JAFFE's 213 full-size photos over a grid of
// margins and offsets: docs/RECOGNIZER.md, "Framing" (margin -0.025, offset -0.075: the Haar
// box, a little tighter and moved up by 7.5 % of its side). They stay parameters.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../core/error.hpp"
#include "gray.hpp"

namespace mien {

struct face_crop_options {
    double margin = -0.025;  // added on each side, as a fraction of the box's longer side
    int side = 48;           // output is side x side
    double offset = -0.075;  // the square's centre moved down by this fraction of the longer side
};

// The square crop around `face` (it may reach outside the image).
inline cv::Rect square_box(cv::Rect const& face, double margin, double offset = 0.0) {
    if (face.width <= 0 || face.height <= 0) fail("square_box: empty face box %dx%d", face.width, face.height);
    if (!(margin > -0.5)) fail("square_box: margin %g leaves nothing of the face (must be > -0.5)", margin);
    if (!(std::abs(offset) <= 1.0)) fail("square_box: offset %g moves the crop off the face (must be in [-1, 1])", offset);
    double const longer = double(std::max(face.width, face.height));
    double const side = longer * (1.0 + 2.0 * margin);
    double const cx = face.x + face.width / 2.0, cy = face.y + face.height / 2.0 + offset * longer;
    int const s = std::max(1, int(std::lround(side)));
    return {int(std::lround(cx - s / 2.0)), int(std::lround(cy - s / 2.0)), s, s};
}

// The centred square of `fraction` of the image's shorter side (the fallback when no face is found).
inline cv::Rect centre_box(cv::Size const& image, double fraction = 1.0) {
    if (image.width <= 0 || image.height <= 0) fail("centre_box: empty image");
    int const s = std::max(1, int(std::lround(std::min(image.width, image.height) * std::clamp(fraction, 0.0, 1.0))));
    return {(image.width - s) / 2, (image.height - s) / 2, s, s};
}

// The face as an o.side x o.side CV_8UC1 image (continuous).
inline cv::Mat crop_face(cv::Mat const& image, cv::Rect const& face, face_crop_options const& o = {}) {
    if (image.empty()) fail("crop_face: empty image");
    if (o.side <= 0) fail("crop_face: output side must be positive, found %d", o.side);
    cv::Mat const gray = to_gray(image);
    cv::Rect const box = square_box(face, o.margin, o.offset);
    cv::Rect const inside = box & cv::Rect(0, 0, gray.cols, gray.rows);
    if (inside.area() == 0) fail("crop_face: the face box lies outside the %dx%d image", gray.cols, gray.rows);
    cv::Mat square = gray(inside);
    if (inside != box)  // pad by repeating the border so the face stays centred
        cv::copyMakeBorder(square, square, inside.y - box.y, box.br().y - inside.br().y, inside.x - box.x,
                           box.br().x - inside.br().x, cv::BORDER_REPLICATE);
    cv::Mat out;
    cv::resize(square, out, cv::Size(o.side, o.side), 0, 0, square.cols > o.side ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out.isContinuous() ? out : out.clone();
}

// The same crop as o.side * o.side floats in [0, 1] (the network's input) written to out.
inline void crop_face(cv::Mat const& image, cv::Rect const& face, float* out, face_crop_options const& o = {}) {
    cv::Mat const face8 = crop_face(image, face, o);
    std::uint8_t const* p = face8.ptr<std::uint8_t>();
    for (int i = 0; i < o.side * o.side; ++i) out[i] = float(p[i]) / 255.0f;
}

inline std::vector<float> crop_face_float(cv::Mat const& image, cv::Rect const& face, face_crop_options const& o = {}) {
    std::vector<float> out(std::size_t(o.side) * std::size_t(o.side));
    crop_face(image, face, out.data(), o);
    return out;
}

}  // namespace mien
