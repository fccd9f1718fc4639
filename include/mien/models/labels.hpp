// mien/models/labels.hpp -- the class names a model's outputs stand for.
//
// A model's label set travels with its weights: a .mien file (format version 2) stores the
// names of its outputs (io/weights.hpp, load_result::labels). Files that do not name them
// (version 1, or written without names) get the default of their output count:
//   7 outputs  FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral
//   8 outputs  FER+ order:    neutral, happiness, surprise, sadness, anger, disgust, fear, contempt
// and no default otherwise. Freestanding (no allocation), like the rest of models/.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

namespace mien {

inline constexpr std::size_t expression_count = 7;
inline constexpr std::array<std::string_view, expression_count> expression_names{
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

inline constexpr std::size_t ferplus_class_count = 8;
inline constexpr std::array<std::string_view, ferplus_class_count> ferplus_class_names{
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"};

// The default names of a model with `outputs` outputs (empty when there is none).
constexpr std::span<std::string_view const> default_class_names(std::size_t outputs) {
    if (outputs == expression_count) return expression_names;
    if (outputs == ferplus_class_count) return ferplus_class_names;
    return {};
}

}  // namespace mien
