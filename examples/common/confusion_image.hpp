// examples/common/confusion_image.hpp -- a confusion matrix as a PNG heat map and as CSV (OpenCV).
//
// The picture: one cell per (true, predicted) pair, shaded by the row's fraction (recall along
// the diagonal) from white to dark blue, with the count and the row percentage written in it;
// true classes down the left, predicted classes along the top, a title above.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mien/core/error.hpp>
#include <mien/io/binary.hpp>

using confusion_matrix = std::vector<std::vector<std::size_t>>;

inline cv::Mat draw_confusion(confusion_matrix const& confusion, std::vector<std::string> const& names,
                              std::string const& title) {
    int const k = int(confusion.size()), cell = 84, left = 110, top = 96, right = 16, bottom = 16;
    cv::Mat img(top + k * cell + bottom, left + k * cell + right, CV_8UC3, cv::Scalar(255, 255, 255));
    int const font = cv::FONT_HERSHEY_SIMPLEX;
    auto text = [&](std::string const& s, cv::Point centre, double scale, cv::Scalar colour, int thickness = 1) {
        int base = 0;
        cv::Size const size = cv::getTextSize(s, font, scale, thickness, &base);
        cv::putText(img, s, cv::Point(centre.x - size.width / 2, centre.y + size.height / 2), font, scale, colour, thickness,
                    cv::LINE_AA);
    };
    cv::Scalar const black(0, 0, 0), grey(90, 90, 90);
    text(title, {img.cols / 2, 18}, 0.5, black);
    text("predicted", {left + k * cell / 2, 44}, 0.5, grey);
    for (int i = 0; i < k; ++i) {
        std::string const name = i < int(names.size()) ? names[std::size_t(i)] : std::to_string(i);
        text(name, {left + i * cell + cell / 2, top - 18}, 0.45, black);
        int base = 0;
        cv::Size const size = cv::getTextSize(name, font, 0.45, 1, &base);
        cv::putText(img, name, cv::Point(left - 8 - size.width, top + i * cell + cell / 2 + size.height / 2), font, 0.45,
                    black, 1, cv::LINE_AA);
    }
    cv::putText(img, "true", cv::Point(8, top - 18 + 5), font, 0.5, grey, 1, cv::LINE_AA);
    for (int t = 0; t < k; ++t) {
        std::size_t row_total = 0;
        for (std::size_t n : confusion[std::size_t(t)]) row_total += n;
        for (int p = 0; p < k; ++p) {
            std::size_t const n = confusion[std::size_t(t)][std::size_t(p)];
            double const f = row_total ? double(n) / double(row_total) : 0.0;
            // white (f = 0) to dark blue (f = 1), in BGR
            cv::Scalar const fill(255 - 120 * f, 255 - 205 * f, 255 - 225 * f);
            cv::Rect const box(left + p * cell, top + t * cell, cell, cell);
            cv::rectangle(img, box, fill, cv::FILLED);
            cv::rectangle(img, box, cv::Scalar(200, 200, 200), 1);
            cv::Scalar const ink = f > 0.5 ? cv::Scalar(255, 255, 255) : black;
            text(std::to_string(n), {box.x + cell / 2, box.y + cell / 2 - 9}, 0.55, ink, t == p ? 2 : 1);
            char percent[16];
            std::snprintf(percent, sizeof percent, "%.0f%%", 100 * f);
            text(percent, {box.x + cell / 2, box.y + cell / 2 + 14}, 0.4, ink);
        }
    }
    return img;
}

inline void write_confusion_png(std::filesystem::path const& path, confusion_matrix const& confusion,
                                std::vector<std::string> const& names, std::string const& title) {
    std::vector<unsigned char> png;
    if (!cv::imencode(".png", draw_confusion(confusion, names, title), png)) mien::fail("cannot encode %s", path.string().c_str());
    mien::write_text_file(path, std::string_view(reinterpret_cast<char const*>(png.data()), png.size()), "confusion image");
}

// CSV: a header `true\predicted,<names...>`, then one row per true class.
inline void write_confusion_csv(std::filesystem::path const& path, confusion_matrix const& confusion,
                                std::vector<std::string> const& names) {
    std::ostringstream out;
    out << "true\\predicted";
    for (auto const& n : names) out << ',' << n;
    out << '\n';
    for (std::size_t t = 0; t < confusion.size(); ++t) {
        out << (t < names.size() ? names[t] : std::to_string(t));
        for (std::size_t n : confusion[t]) out << ',' << n;
        out << '\n';
    }
    mien::write_text_file(path, out.str(), "confusion table");
}
