// mien/data/jaffe.hpp -- JAFFE file names: subject and expression (no OpenCV, no detection).
//
//   auto n = mien::parse_jaffe_name("KA.AN1.39.tiff");   // n->subject "KA", n->label 0 (angry)
//
// Files are <subject>.<expr><n>.<id>.tiff, e.g. KA.AN1.39.tiff: subject KA, expression AN
// (AN angry, DI disgust, FE fear, HA happy, SA sad, SU surprise, NE neutral). Loading the
// photos means finding and cropping the faces, which is vision's work: load_jaffe is in
// mien/vision/jaffe_faces.hpp, so that data/ never depends on vision/.
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "labels.hpp"

namespace mien {

struct jaffe_name {
    std::string subject;  // "KA"
    int label = -1;       // class index (labels.hpp)
};

// Subject and class of a JAFFE file name, or nothing when the name does not follow the pattern.
inline std::optional<jaffe_name> parse_jaffe_name(std::string_view name) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i)
        if (i == name.size() || name[i] == '.') {
            parts.push_back(name.substr(start, i - start));
            start = i + 1;
        }
    if (parts.size() != 4 || parts[0].empty() || parts[1].size() < 2) return std::nullopt;
    for (char c : parts[0])
        if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
    for (char c : parts[1].substr(2))
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    static constexpr std::pair<std::string_view, int> codes[] = {{"AN", 0}, {"DI", 1}, {"FE", 2}, {"HA", 3},
                                                                 {"SA", 4}, {"SU", 5}, {"NE", 6}};
    for (auto const& [code, label] : codes)
        if (parts[1].substr(0, 2) == code) return jaffe_name{std::string(parts[0]), label};
    return std::nullopt;
}

}  // namespace mien
