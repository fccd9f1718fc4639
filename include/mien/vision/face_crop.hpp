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

// The crop of crop_face() above, for a video loop: the same square, border repetition and
// resizing (area averaging when shrinking, bilinear when enlarging), computed straight from the
// gray frame into the network's floats with buffers kept between calls, so that after the
// largest face has been seen it allocates nothing (OpenCV's resize builds its tables on the heap
// on every call). It skips crop_face's rounding to 8 bits, so the floats differ from
// crop_face's by at most about one gray level (tests/vision/test_face_crop.cpp).
class face_cropper {
public:
    explicit face_cropper(face_crop_options o = {}) : o_(o) {
        if (o_.side <= 0) fail("face_cropper: output side must be positive, found %d", o_.side);
        square_box(cv::Rect(0, 0, 2, 2), o_.margin, o_.offset);  // validates margin and offset
        reserve(4 * o_.side);
    }

    // Grows the buffers for crop squares up to `longest` pixels (a frame's longer side, say),
    // so that no later crop allocates.
    void reserve(int longest) {
        std::size_t const n = std::size_t(std::max(longest, o_.side)) + 2 * std::size_t(o_.side) + 2;
        for (axis* a : {&x_, &y_}) {
            a->index.reserve(n);
            a->weight.reserve(n);
            a->first.reserve(std::size_t(o_.side) + 1);
        }
        rows_.reserve(std::size_t(std::max(longest, o_.side)) * std::size_t(o_.side));
    }

    face_crop_options const& options() const { return o_; }

    // Writes side * side floats in [0, 1] to out: the crop of `face` in the 8-bit gray `gray`.
    void crop(cv::Mat const& gray, cv::Rect const& face, float* out) {
        if (gray.empty() || gray.type() != CV_8UC1) fail("face_cropper: expected a non-empty 8-bit gray image");
        cv::Rect const box = square_box(face, o_.margin, o_.offset);
        if ((box & cv::Rect(0, 0, gray.cols, gray.rows)).area() == 0)
            fail("face_cropper: the face box lies outside the %dx%d image", gray.cols, gray.rows);
        int const n = o_.side;
        bool const shrink = box.width > n;  // crop_face's choice: INTER_AREA above side, else bilinear
        taps(x_, box.x, box.width, gray.cols, shrink);
        taps(y_, box.y, box.height, gray.rows, shrink);
        // Horizontal pass over every source row a vertical tap reads (rows outside the image
        // repeat the border row, as crop_face's BORDER_REPLICATE padding does).
        rows_.resize(std::size_t(box.height) * std::size_t(n));
        for (int r = 0; r < box.height; ++r) {
            std::uint8_t const* src = gray.ptr<std::uint8_t>(std::clamp(box.y + r, 0, gray.rows - 1));
            float* dst = rows_.data() + std::size_t(r) * std::size_t(n);
            for (int d = 0; d < n; ++d) {
                float v = 0;
                for (int k = x_.first[std::size_t(d)]; k < x_.first[std::size_t(d) + 1]; ++k)
                    v += x_.weight[std::size_t(k)] * float(src[x_.index[std::size_t(k)]]);
                dst[d] = v;
            }
        }
        for (int d = 0; d < n; ++d) {
            float* o = out + std::size_t(d) * std::size_t(n);
            std::fill(o, o + n, 0.0f);
            for (int k = y_.first[std::size_t(d)]; k < y_.first[std::size_t(d) + 1]; ++k) {
                float const w = y_.weight[std::size_t(k)];
                float const* row = rows_.data() + std::size_t(y_.index[std::size_t(k)] - box.y) * std::size_t(n);
                for (int x = 0; x < n; ++x) o[x] += w * row[x];
            }
            // Divided last, as crop_face's float(pixel) / 255: a square of exactly side pixels
            // (or an integer multiple of uniform blocks) then gives crop_face's floats bit for bit.
            for (int x = 0; x < n; ++x) o[x] /= 255.0f;
        }
    }

private:
    // Per output index d, the source taps first[d] .. first[d+1]-1: a pixel index and its weight.
    struct axis {
        std::vector<int> first, index;
        std::vector<float> weight;
    };

    // The taps mapping the square's span [start, start + length) onto side outputs. For the
    // horizontal axis the index is the clamped image column; for the vertical one, the square's
    // row (start + r, unclamped: the horizontal pass already clamped it to the image).
    void taps(axis& a, int start, int length, int limit, bool shrink) {
        bool const clamp_to_image = &a == &x_;
        auto const source = [&](int i) { return clamp_to_image ? std::clamp(start + i, 0, limit - 1) : start + i; };
        int const n = o_.side;
        a.first.clear();
        a.index.clear();
        a.weight.clear();
        double const scale = double(length) / double(n);
        for (int d = 0; d < n; ++d) {
            a.first.push_back(int(a.index.size()));
            if (shrink) {  // area: each source pixel weighted by its overlap with [d, d+1) * scale
                double const lo = d * scale, hi = (d + 1) * scale;
                for (int i = int(std::floor(lo)); i < int(std::ceil(hi)) && i < length; ++i) {
                    double const w = std::min(hi, double(i + 1)) - std::max(lo, double(i));
                    if (w <= 1e-9) continue;
                    a.index.push_back(source(i));
                    a.weight.push_back(float(w / scale));
                }
            } else {  // bilinear with pixel centres aligned, as cv::resize's INTER_LINEAR
                double const x = (d + 0.5) * scale - 0.5;
                int const i0 = int(std::floor(x));
                float const f = float(x - i0);
                a.index.push_back(source(std::clamp(i0, 0, length - 1)));
                a.weight.push_back(1.0f - f);
                a.index.push_back(source(std::clamp(i0 + 1, 0, length - 1)));
                a.weight.push_back(f);
            }
        }
        a.first.push_back(int(a.index.size()));
    }

    face_crop_options o_;
    axis x_, y_;
    std::vector<float> rows_;  // box.height x side: the horizontal pass
};

inline std::vector<float> crop_face_float(cv::Mat const& image, cv::Rect const& face, face_crop_options const& o = {}) {
    std::vector<float> out(std::size_t(o.side) * std::size_t(o.side));
    crop_face(image, face, out.data(), o);
    return out;
}

}  // namespace mien
