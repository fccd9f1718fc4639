// mien/vision/overlay.hpp -- what mien-detect draws on a frame: a box and label per face, a
// probability bar per expression, a status line, and the saliency map of --explain (OpenCV).
//
//   mien::overlay draw(frame.size());               // text glyphs rendered once, for this size
//   for (auto const& face : faces) draw.face(frame, face);
//   draw.status(frame, "16.2 ms  p99 24.0 ms");
//
// Drawn into the frame (8-bit BGR) with mien's own loops: cv::putText builds its outlines on the
// heap on every call and cv::rectangle's thick lines do too, so a video loop that drew with them
// would allocate on every frame. Text is blended from glyph masks that OpenCV's Hershey font
// rendered once, at construction (anti-aliased, as before). Only saliency() allocates (it is
// for --explain, off by default).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../core/error.hpp"
#include "../data/labels.hpp"
#include "recognizer.hpp"

namespace mien {

// One colour (BGR) per expression, in expression_names order.
inline cv::Scalar expression_colour(int label) {
    static std::array<cv::Scalar, 8> const colours{
        cv::Scalar(40, 40, 230),    // angry: red
        cv::Scalar(40, 140, 40),    // disgust: green
        cv::Scalar(160, 60, 160),   // fear: purple
        cv::Scalar(40, 200, 250),   // happy: yellow
        cv::Scalar(200, 120, 40),   // sad: blue
        cv::Scalar(30, 140, 250),   // surprise: orange
        cv::Scalar(200, 200, 200),  // neutral: light gray
        cv::Scalar(140, 200, 120),  // an eighth class (contempt): teal
    };
    return label >= 0 && label < int(colours.size()) ? colours[std::size_t(label)] : cv::Scalar(255, 255, 255);
}

// The colour slot of class k of a face: its FER2013 class found by name (an 8-class FER+ model's
// "anger" is angry's red), else its own index (contempt: the eighth colour).
inline int colour_index(recognized_face const& f, int k) {
    if (k < 0) return k;
    int const fer2013 = expression_index(f.class_name(std::size_t(k)));
    return fer2013 >= 0 ? fer2013 : k;
}

class overlay {
public:
    // Text and line sizes that stay readable from 320x240 to 1920x1080.
    explicit overlay(cv::Size frame) {
        double const s = std::clamp(std::min(frame.width, frame.height) / 480.0, 0.6, 2.5);
        font_scale_ = 0.45 * s;
        thickness_ = std::max(1, int(std::lround(s)));
        line_height_ = int(std::lround(16 * s));
        label_font_ = make_font(font_scale_, thickness_);
        bar_font_ = make_font(font_scale_ * 0.9, 1);
    }

    int line_height() const { return line_height_; }

    // The face's box, "#id label 87%" above it, and a probability bar per expression beside it
    // (right of the box, or left where there is no room).
    void face(cv::Mat& frame, recognized_face const& f) const {
        check(frame);
        cv::Scalar const colour = expression_colour(colour_index(f, f.label));
        outline(frame, f.box, colour, 2 * thickness_);
        char label[64];
        if (f.id >= 0) std::snprintf(label, sizeof label, "#%d %s %.0f%%", f.id, f.name().data(), 100.0 * f.confidence());
        else std::snprintf(label, sizeof label, "%s %.0f%%", f.name().data(), 100.0 * f.confidence());
        // Above the box, or inside its top edge where the status line or the frame's edge is in the way.
        int const above = f.box.y - 4, room = 2 * line_height_ + 6;
        text_box(frame, label, {f.box.x, above >= room ? above : f.box.y + line_height_ + 2}, cv::Scalar(0, 0, 0), colour);

        std::size_t const classes = f.classes;
        int const name_width = int(std::lround(70 * font_scale_ / 0.45)), bar_width = name_width;
        int const panel_width = name_width + bar_width + 8, row = line_height_;
        int x = f.box.br().x + 6;
        if (x + panel_width > frame.cols) x = std::max(0, f.box.x - panel_width - 6);
        int const y = std::clamp(f.box.y, 0, std::max(0, frame.rows - row * int(classes) - 4));
        darken(frame, cv::Rect(x, y, panel_width, row * int(classes) + 4), 0.45f);  // bars read on any background
        for (std::size_t k = 0; k < classes; ++k) {
            int const top = y + 2 + int(k) * row;
            std::string_view const name = f.class_name(k);
            text(frame, bar_font_, name, {x + 2, top + row - 4}, cv::Scalar(255, 255, 255));
            int const length = int(std::lround(bar_width * double(f.probabilities[k])));
            fill(frame, cv::Rect(x + name_width + 4, top + 3, std::max(1, length), row - 6), expression_colour(colour_index(f, int(k))));
        }
    }

    // The status line at the top left: white on black.
    void status(cv::Mat& frame, std::string_view line) const {
        check(frame);
        text_box(frame, line, {4, line_height_ + 2}, cv::Scalar(255, 255, 255), cv::Scalar(0, 0, 0));
    }

    // A saliency map (side x side values, any sign) blended over the face's crop square
    // (|gradient|, blurred 3x3, normalised to its maximum, JET colours). Allocates.
    static void saliency(cv::Mat& frame, cv::Rect const& crop, float const* gradient, int side) {
        cv::Mat magnitude(side, side, CV_32F);
        for (int i = 0; i < side * side; ++i) magnitude.at<float>(i) = std::abs(gradient[i]);
        cv::GaussianBlur(magnitude, magnitude, cv::Size(3, 3), 0);
        double top = 0;
        cv::minMaxLoc(magnitude, nullptr, &top);
        cv::Mat heat8;
        magnitude.convertTo(heat8, CV_8U, top > 0 ? 255.0 / top : 0.0);
        cv::Mat heat;
        cv::applyColorMap(heat8, heat, cv::COLORMAP_JET);
        cv::resize(heat, heat, crop.size(), 0, 0, cv::INTER_LINEAR);
        cv::Rect const inside = crop & cv::Rect(0, 0, frame.cols, frame.rows);
        if (inside.area() == 0 || frame.type() != CV_8UC3) return;
        cv::Mat region = frame(inside);
        cv::addWeighted(region, 0.55, heat(inside - crop.tl()), 0.45, 0.0, region);
    }

private:
    // The printable ASCII glyphs of one Hershey font size as anti-aliased masks (0..255).
    struct font {
        int height = 0, baseline = 0;                 // above and below the text origin
        std::array<int, 95> advance{}, width{}, offset{};  // per glyph: pen advance, mask width, start in masks
        std::vector<std::uint8_t> masks;                    // row-major, height + baseline rows each
    };

    static font make_font(double scale, int thickness) {
        font f;
        int base = 0;
        cv::Size const h = cv::getTextSize("Hg", cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
        f.height = h.height + thickness;  // room for the stroke above the cap height
        f.baseline = base + thickness;
        int const rows = f.height + f.baseline;
        for (int c = 32; c < 127; ++c) {
            char const s[2] = {char(c), 0};
            int b = 0;
            cv::Size const sz = cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &b);
            // getTextSize counts the stroke once per call; a string advances by the glyph alone.
            int const advance = std::max(1, sz.width - thickness);
            int const width = advance + 2 * thickness;  // the stroke may reach past the advance
            cv::Mat glyph(rows, width, CV_8UC1, cv::Scalar(0));
            cv::putText(glyph, s, {0, f.height}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255), thickness, cv::LINE_AA);
            f.advance[std::size_t(c - 32)] = advance;
            f.width[std::size_t(c - 32)] = width;
            f.offset[std::size_t(c - 32)] = int(f.masks.size());
            f.masks.insert(f.masks.end(), glyph.datastart, glyph.dataend);
        }
        return f;
    }
    static void check(cv::Mat const& frame) {
        if (frame.type() != CV_8UC3) fail("overlay: expected an 8-bit BGR frame, found OpenCV type %d", frame.type());
    }

    static int text_width(font const& f, std::string_view s) {
        int w = 0;
        for (char ch : s) w += (ch >= 32 && ch < 127) ? f.advance[std::size_t(ch - 32)] : f.advance[0];
        return w;
    }

    // Blends the glyphs of s in `colour`, the text origin (baseline, left) at `origin`.
    static void text(cv::Mat& frame, font const& f, std::string_view s, cv::Point origin, cv::Scalar colour) {
        int const rows = f.height + f.baseline;
        int x = origin.x;
        for (char ch : s) {
            int const c = (ch >= 32 && ch < 127) ? ch : 32;
            int const advance = f.advance[std::size_t(c - 32)], w = f.width[std::size_t(c - 32)];
            std::uint8_t const* mask = f.masks.data() + f.offset[std::size_t(c - 32)];
            for (int r = 0; r < rows; ++r) {
                int const y = origin.y - f.height + r;
                if (y < 0 || y >= frame.rows) continue;
                auto* row = frame.ptr<cv::Vec3b>(y);
                for (int i = 0; i < w; ++i) {
                    int const px = x + i;
                    std::uint8_t const a = mask[r * w + i];
                    if (a == 0 || px < 0 || px >= frame.cols) continue;
                    for (int ch3 = 0; ch3 < 3; ++ch3) {
                        float const v = float(row[px][ch3]);
                        row[px][ch3] = std::uint8_t(std::lround(v + (float(colour[ch3]) - v) * float(a) / 255.0f));
                    }
                }
            }
            x += advance;
        }
    }

    // Text on a filled background box, as a label.
    void text_box(cv::Mat& frame, std::string_view s, cv::Point origin, cv::Scalar colour, cv::Scalar background) const {
        int const w = text_width(label_font_, s);
        fill(frame, cv::Rect(origin.x, origin.y - label_font_.height - 2, w + 4, label_font_.height + label_font_.baseline + 4),
             background);
        text(frame, label_font_, s, {origin.x + 2, origin.y}, colour);
    }

    static void fill(cv::Mat& frame, cv::Rect r, cv::Scalar colour) {
        r &= cv::Rect(0, 0, frame.cols, frame.rows);
        cv::Vec3b const c(cv::saturate_cast<std::uint8_t>(colour[0]), cv::saturate_cast<std::uint8_t>(colour[1]),
                          cv::saturate_cast<std::uint8_t>(colour[2]));
        for (int y = r.y; y < r.y + r.height; ++y) std::fill_n(frame.ptr<cv::Vec3b>(y) + r.x, r.width, c);
    }

    static void outline(cv::Mat& frame, cv::Rect const& r, cv::Scalar colour, int t) {
        int const h = t / 2;  // centred on the box's edge, as cv::rectangle's thick lines
        fill(frame, cv::Rect(r.x - h, r.y - h, r.width + t, t), colour);
        fill(frame, cv::Rect(r.x - h, r.br().y - h, r.width + t, t), colour);
        fill(frame, cv::Rect(r.x - h, r.y - h, t, r.height + t), colour);
        fill(frame, cv::Rect(r.br().x - h, r.y - h, t, r.height + t), colour);
    }

    static void darken(cv::Mat& frame, cv::Rect r, float factor) {
        r &= cv::Rect(0, 0, frame.cols, frame.rows);
        for (int y = r.y; y < r.y + r.height; ++y) {
            std::uint8_t* p = frame.ptr<std::uint8_t>(y) + 3 * r.x;
            for (int i = 0; i < 3 * r.width; ++i) p[i] = std::uint8_t(float(p[i]) * factor + 0.5f);
        }
    }

    double font_scale_ = 0;
    int thickness_ = 1, line_height_ = 16;
    font label_font_, bar_font_;
};

namespace vision {
using ::mien::expression_colour;
using ::mien::overlay;
}  // namespace vision

}  // namespace mien
