// tests/support/data_dir.hpp -- where the shared data sets are, for tests that use them.
//
// $MIEN_DATA if set, else MIEN_DEFAULT_DATA_DIR (tests/CMakeLists.txt sets it to
// <repo>/../shared/data), else ../shared/data. A test that needs a data set asks for it with
// data_set("jaffe") and, when it is absent, skips (support/skip.hpp: CTest shows it skipped).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "skip.hpp"

namespace mien::testing {

inline std::filesystem::path data_dir() {
    if (char const* env = std::getenv("MIEN_DATA"); env != nullptr && *env != '\0') return env;
#ifdef MIEN_DEFAULT_DATA_DIR
    return MIEN_DEFAULT_DATA_DIR;
#else
    return "../shared/data";
#endif
}

// data_dir() / name when that folder exists.
inline std::optional<std::filesystem::path> data_set(std::string const& name) {
    std::filesystem::path const p = data_dir() / name;
    if (std::filesystem::is_directory(p)) return p;
    return std::nullopt;
}

}  // namespace mien::testing

// Skips the rest of the test case (with a message) when data set NAME is absent; else binds VAR.
#define MIEN_REQUIRE_DATA_SET(var, name)                                                               \
    auto const var##_found = ::mien::testing::data_set(name);                                          \
    if (!var##_found) {                                                                                \
        MIEN_SKIP_TEST("data set '" << name << "' not found under " << ::mien::testing::data_dir().string() \
                                    << " (set MIEN_DATA)");                                            \
    }                                                                                                  \
    std::filesystem::path const var = *var##_found
