// mien/data/labels.hpp -- folder names of the seven expression classes, in FER2013 order.
//
// Folder data sets name their class folders with the words of expression_names (defined with
// the models' label sets, models/labels.hpp); a few common synonyms used by other data sets
// (CK+'s "anger", "sadness", "happiness") map to the same classes.
#pragma once

#include <cstddef>
#include <string_view>

#include "../models/labels.hpp"

namespace mien {

// The class index of a label word, or -1 when unknown.
inline constexpr int expression_index(std::string_view word) {
    for (std::size_t i = 0; i < expression_count; ++i)
        if (expression_names[i] == word) return int(i);
    if (word == "anger") return 0;
    if (word == "disgusted") return 1;
    if (word == "fearful" || word == "afraid") return 2;
    if (word == "happiness") return 3;
    if (word == "sadness") return 4;
    if (word == "surprised") return 5;
    if (word == "natural") return 6;  // the paper's word for neutral
    return -1;
}

}  // namespace mien
