// tests/support/io_test.hpp -- helpers of the I/O tests: a temporary directory, the message of
// a mien::error, bit-exact comparison of two networks' tensors.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <mien/core/error.hpp>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace mien::testing {

// A fresh directory under the system temp folder, removed with everything in it when the test
// ends (pass or fail), so I/O tests never see each other's files.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<unsigned> counter{0};
        auto const now = std::chrono::steady_clock::now().time_since_epoch().count();
        std::string name = "mien-test-";
#if __has_include(<unistd.h>)
        name += std::to_string(::getpid()) + "-";
#endif
        name += std::to_string(now) + "-" + std::to_string(counter++);
        path_ = std::filesystem::temp_directory_path() / name;
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ignored);
        std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    std::filesystem::path const& path() const { return path_; }
    std::filesystem::path operator/(std::string const& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// The message of the mien::error that f raises ("" if none): tests compare it whole.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (mien::error const& e) {
        return e.what();
    }
    return "";
}

// A network's parameters then state, as bytes: "bit-identical" means these compare equal.
template <class Net>
std::vector<std::byte> snapshot(Net const& net) {
    auto const p = std::as_bytes(net.parameters());
    auto const s = std::as_bytes(net.state());
    std::vector<std::byte> all(p.begin(), p.end());
    all.insert(all.end(), s.begin(), s.end());
    return all;
}

template <class Net>
bool same_tensors(Net const& a, Net const& b) {
    return snapshot(a) == snapshot(b);
}

}  // namespace mien::testing
