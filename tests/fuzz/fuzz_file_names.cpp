// libFuzzer target: what the folder loaders read from file and folder names
// (mien/data/labels.hpp, image_folder.hpp, ckplus.hpp, jaffe.hpp): the class of a label
// folder, whether a file is an image by its extension, the CK+ subject of a file name, the
// JAFFE subject and class of a file name.
//
// The input is "<folder>/<file name>" (no '/': the whole input is both). Whatever a parser
// accepts must be what its documentation promises.
#include <cctype>
#include <string>
#include <string_view>

#include <mien/data/ckplus.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/data/jaffe.hpp>
#include <mien/data/labels.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    std::size_t const slash = input.find('/');
    std::string_view const folder = slash == std::string_view::npos ? input : input.substr(0, slash);
    std::string_view const name = slash == std::string_view::npos ? input : input.substr(slash + 1);

    int const label = mien::expression_index(folder);
    if (label < -1 || label >= int(mien::expression_count)) std::abort();

    (void)mien::detail::is_image_name(std::filesystem::path(std::string(name)));

    // CK+: "S<digits>" taken from a "S<digits>_" prefix, else "".
    std::string const subject = mien::ckplus_subject(name);
    if (!subject.empty()) {
        if (subject.size() < 2 || subject[0] != 'S' || name.substr(0, subject.size()) != subject || name.size() <= subject.size() ||
            name[subject.size()] != '_')
            std::abort();
        for (char c : subject.substr(1))
            if (!std::isdigit(static_cast<unsigned char>(c))) std::abort();
    }

    // JAFFE: "<letters>.<code><digits>.<n>.<ext>": the subject is the letters, the class 0..6.
    if (auto const j = mien::parse_jaffe_name(name)) {
        if (j->subject.empty() || j->label < 0 || j->label >= int(mien::expression_count)) std::abort();
        if (name.substr(0, j->subject.size()) != j->subject) std::abort();
        for (char c : j->subject)
            if (!std::isalpha(static_cast<unsigned char>(c))) std::abort();
    }
    return 0;
}
