// examples/common/overlay.hpp -- what mien-detect draws on a frame: a box and label per face, a
// probability bar per expression, the saliency map (--explain), and a status line with the
// frame rate and per-stage milliseconds (OpenCV).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <mien/data/labels.hpp>
#include <mien/vision/recognizer.hpp>

// One colour (BGR) per expression, in expression_names order.
inline cv::Scalar expression_colour(int label) {
    static std::array<cv::Scalar, mien::expression_count> const colours{
        cv::Scalar(40, 40, 230),   // angry: red
        cv::Scalar(40, 140, 40),   // disgust: green
        cv::Scalar(160, 60, 160),  // fear: purple
        cv::Scalar(40, 200, 250),  // happy: yellow
        cv::Scalar(200, 120, 40),  // sad: blue
        cv::Scalar(30, 140, 250),  // surprise: orange
        cv::Scalar(200, 200, 200)  // neutral: light gray
    };
    return label >= 0 && label < int(colours.size()) ? colours[std::size_t(label)] : cv::Scalar(255, 255, 255);
}

// Text and line sizes that stay readable from 320x240 to 1920x1080.
struct overlay_style {
    double font_scale;
    int thickness, line_height;
    explicit overlay_style(cv::Size frame) {
        double const s = std::clamp(std::min(frame.width, frame.height) / 480.0, 0.6, 2.5);
        font_scale = 0.45 * s;
        thickness = std::max(1, int(std::lround(s)));
        line_height = int(std::lround(16 * s));
    }
};

inline void draw_text(cv::Mat& frame, std::string const& text, cv::Point origin, overlay_style const& st,
                      cv::Scalar colour, cv::Scalar background) {
    int base = 0;
    cv::Size const size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, st.font_scale, st.thickness, &base);
    cv::rectangle(frame, cv::Rect(origin.x, origin.y - size.height - 3, size.width + 4, size.height + base + 5), background,
                  cv::FILLED);
    cv::putText(frame, text, {origin.x + 2, origin.y}, cv::FONT_HERSHEY_SIMPLEX, st.font_scale, colour, st.thickness,
                cv::LINE_AA);
}

// The face's box, "#id label 87%" above it, and 7 probability bars beside it (right of the box,
// or left where there is no room).
inline void draw_face(cv::Mat& frame, mien::recognized_face const& face, overlay_style const& st) {
    cv::Scalar const colour = expression_colour(face.label);
    cv::rectangle(frame, face.box, colour, 2 * st.thickness);
    char label[64];
    if (face.id >= 0)
        std::snprintf(label, sizeof label, "#%d %s %.0f%%", face.id, face.name().data(), 100.0 * face.confidence());
    else
        std::snprintf(label, sizeof label, "%s %.0f%%", face.name().data(), 100.0 * face.confidence());
    // Above the box, or inside its top edge where the status line or the frame's edge is in the way.
    int const above = face.box.y - 4, room = 2 * st.line_height + 6;
    draw_text(frame, label, {face.box.x, above >= room ? above : face.box.y + st.line_height + 2}, st, cv::Scalar(0, 0, 0),
              colour);

    int const name_width = int(std::lround(70 * st.font_scale / 0.45)), bar_width = name_width;
    int const panel_width = name_width + bar_width + 8, row = st.line_height;
    int x = face.box.br().x + 6;
    if (x + panel_width > frame.cols) x = std::max(0, face.box.x - panel_width - 6);
    int y = std::clamp(face.box.y, 0, std::max(0, frame.rows - row * int(mien::expression_count) - 4));
    cv::Mat panel = frame(cv::Rect(x, y, std::min(panel_width, frame.cols - x),
                                   std::min(row * int(mien::expression_count) + 4, frame.rows - y)));
    panel *= 0.45;  // darken behind the bars so they read on any background
    for (std::size_t k = 0; k < mien::expression_count; ++k) {
        int const top = y + 2 + int(k) * row;
        cv::putText(frame, std::string(mien::expression_names[k]), {x + 2, top + row - 4}, cv::FONT_HERSHEY_SIMPLEX,
                    st.font_scale * 0.9, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
        int const length = int(std::lround(bar_width * double(face.probabilities[k])));
        cv::Rect const bar(x + name_width + 4, top + 3, std::max(1, length), row - 6);
        cv::rectangle(frame, bar & cv::Rect(0, 0, frame.cols, frame.rows), expression_colour(int(k)), cv::FILLED);
    }
}

// A saliency map (side x side values, any sign) blended over the face's crop square.
inline void draw_saliency(cv::Mat& frame, cv::Rect const& crop, float const* gradient, int side) {
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

// The status line: frame rate and the stages' milliseconds (or "no face").
inline void draw_status(cv::Mat& frame, std::string const& text, overlay_style const& st) {
    draw_text(frame, text, {4, st.line_height + 2}, st, cv::Scalar(255, 255, 255), cv::Scalar(0, 0, 0));
}
