// mien::write_text_file: the reports of mien-eval and mien-crossval (CSV, JSON, PNG) are written
// like mien's own files, whole or not at all.
#include <mien/io/binary.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "support/io_test.hpp"

namespace {

std::string text_of(std::filesystem::path const& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("write_text_file: writes, replaces, and a failed write keeps the old file") {
    mien::testing::temp_dir dir;
    auto const path = dir / "predictions.csv";
    mien::write_text_file(path, "file,happy\na.png,0.5\n", "--predictions");
    CHECK(text_of(path) == "file,happy\na.png,0.5\n");
    std::string const binary("\x89PNG\r\n\x1a\n\0\0", 10);  // bytes, not only text: PNGs go through it too
    mien::write_text_file(path, binary, "--predictions");
    CHECK(text_of(path) == binary);
    CHECK_FALSE(std::filesystem::exists(mien::detail::temp_path_for(path)));

    // The temporary file cannot be created (a directory holds its name): an error naming the
    // writer and the file, and the previous content intact.
    std::filesystem::create_directory(mien::detail::temp_path_for(path));
    std::string const message = mien::testing::error_of([&] { mien::write_text_file(path, "other", "--predictions"); });
    CHECK(message.starts_with("--predictions: cannot create " + mien::detail::temp_path_for(path).string()));
    CHECK(text_of(path) == binary);
    std::filesystem::remove(mien::detail::temp_path_for(path));

    // A folder that does not exist: an error, nothing created.
    auto const missing = dir / "no_such_folder" / "metrics.json";
    CHECK(mien::testing::error_of([&] { mien::write_text_file(missing, "{}", "--out"); }).starts_with("--out: cannot create "));
    CHECK_FALSE(std::filesystem::exists(missing));
}
