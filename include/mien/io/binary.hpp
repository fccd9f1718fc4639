// mien/io/binary.hpp -- bytes, checksums and files for the weights, checkpoint and .npz formats.
//
// Everything here is little-endian by construction (values are assembled byte by byte), so a
// file written on any host reads back on any other. Files are written atomically: the bytes go
// to `path.tmp-<pid>`, are flushed to disk (fsync), and only then renamed over `path`, so a
// crash or a failed write never leaves a half-written file where a good one used to be.
// I/O is not the hot path: these helpers allocate freely.
#pragma once

#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../core/error.hpp"

#if __has_include(<unistd.h>) && __has_include(<fcntl.h>)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#define MIEN_IO_POSIX 1
#else
#define MIEN_IO_POSIX 0
#endif

namespace mien::detail {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum ZIP requires, reused by
// the .mien format so one well-known function guards both.
inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}();

inline std::uint32_t crc32(std::span<std::byte const> bytes, std::uint32_t crc = 0) {
    crc = ~crc;
    for (std::byte b : bytes) crc = crc32_table[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

// Appends little-endian values to a growing buffer.
class byte_writer {
public:
    void u8(std::uint8_t v) { bytes_.push_back(std::byte{v}); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
    void raw(std::string_view s) {
        for (char c : s) bytes_.push_back(static_cast<std::byte>(c));
    }
    void raw(std::span<std::byte const> s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
    // A length-prefixed string: u32 byte count, then the bytes (no terminator).
    void text(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        raw(s);
    }
    // Overwrites a u32 written earlier (sizes known only at the end).
    void patch_u32(std::size_t at, std::uint32_t v) {
        for (std::size_t i = 0; i < 4; ++i) bytes_[at + i] = std::byte(static_cast<unsigned char>(v >> (8 * i)));
    }
    void patch_u64(std::size_t at, std::uint64_t v) {
        for (std::size_t i = 0; i < 8; ++i) bytes_[at + i] = std::byte(static_cast<unsigned char>(v >> (8 * i)));
    }
    std::size_t size() const { return bytes_.size(); }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    void put(std::uint64_t v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) bytes_.push_back(std::byte(static_cast<unsigned char>(v >> (8 * i))));
    }
    std::vector<std::byte> bytes_;
};

// Reads little-endian values from a span. Running past the end is not an error here: ok()
// turns false and the caller, which knows what it was reading, words the message.
class byte_reader {
public:
    explicit byte_reader(std::span<std::byte const> bytes, std::size_t at = 0) : bytes_(bytes), at_(at) {}

    bool has(std::size_t n) const { return ok_ && n <= bytes_.size() && at_ <= bytes_.size() - n; }
    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    float f32() { return std::bit_cast<float>(u32()); }
    std::span<std::byte const> take(std::size_t n) {
        if (!has(n)) return fail_read();
        auto s = bytes_.subspan(at_, n);
        at_ += n;
        return s;
    }
    std::string text() {
        std::uint32_t const n = u32();
        auto s = take(n);
        return std::string(reinterpret_cast<char const*>(s.data()), s.size());
    }
    void skip(std::size_t n) { take(n); }
    void seek(std::size_t at) { at_ = at; }
    std::size_t position() const { return at_; }
    std::size_t size() const { return bytes_.size(); }
    bool ok() const { return ok_; }

private:
    std::uint64_t get(std::size_t n) {
        if (!has(n)) {
            fail_read();
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(std::to_integer<unsigned char>(bytes_[at_ + i])) << (8 * i);
        at_ += n;
        return v;
    }
    std::span<std::byte const> fail_read() {
        ok_ = false;
        return {};
    }
    std::span<std::byte const> bytes_;
    std::size_t at_ = 0;
    bool ok_ = true;
};

// "(3,3,1,32)": the shape notation of every I/O error message.
template <class Dims>
inline std::string format_shape(Dims const& dims, std::size_t rank) {
    std::string s = "(";
    for (std::size_t i = 0; i < rank; ++i) {
        if (i) s += ',';
        s += std::to_string(dims[i]);
    }
    return s + ")";
}

// The text of errno, read first: building the message may allocate and change it.
inline std::string last_error_text() {
    int const code = errno;
    return std::generic_category().message(code);
}

// The whole file, or an error naming it.
inline std::vector<std::byte> read_file(std::filesystem::path const& path, char const* who) {
    std::FILE* file = std::fopen(path.string().c_str(), "rb");
    if (!file) {
        std::string const reason = last_error_text();
        fail("%s: cannot open %s: %s", who, path.string().c_str(), reason.c_str());
    }
    std::vector<std::byte> bytes;
    std::array<std::byte, 1 << 16> chunk;
    for (;;) {
        std::size_t const n = std::fread(chunk.data(), 1, chunk.size(), file);
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < chunk.size()) break;
    }
    bool const bad = std::ferror(file) != 0;
    std::fclose(file);
    if (bad) fail("%s: cannot read %s", who, path.string().c_str());
    return bytes;
}

// Where write_file_atomically puts the bytes before the rename (tests use it to make the
// write fail on purpose).
inline std::filesystem::path temp_path_for(std::filesystem::path const& path) {
    std::filesystem::path tmp = path;
#if MIEN_IO_POSIX
    tmp += ".tmp-" + std::to_string(static_cast<long long>(::getpid()));
#else
    tmp += ".tmp-mien";
#endif
    return tmp;
}

#if MIEN_IO_POSIX
// A process killed (SIGKILL, power loss) while it wrote `path.tmp-<pid>` leaves that file
// behind: nothing can remove it at the time. The next successful write of the same path removes
// the leftovers of processes that no longer exist (kill(pid, 0) says ESRCH), and only those: a
// write in progress in another living process keeps its file.
inline void remove_stale_temps(std::filesystem::path const& path) {
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    std::string const prefix = path.filename().string() + ".tmp-";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string const name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 || name.size() - prefix.size() > 9) continue;
        long long pid = 0;
        bool digits = true;
        for (char c : std::string_view(name).substr(prefix.size())) {
            if (c < '0' || c > '9') { digits = false; break; }
            pid = pid * 10 + (c - '0');
        }
        if (!digits || pid <= 0 || pid == static_cast<long long>(::getpid())) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            std::filesystem::remove(it->path(), ignored);
        }
    }
}
#endif

// Writes bytes to path so that path holds either its old content or all of the new one.
// On any failure the temporary file is removed, path is untouched and an error is raised.
inline void write_file_atomically(std::filesystem::path const& path, std::span<std::byte const> bytes, char const* who) {
    std::filesystem::path const tmp = temp_path_for(path);
#if MIEN_IO_POSIX
    int const fd = ::open(tmp.string().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::string const reason = last_error_text();
        fail("%s: cannot create %s: %s", who, tmp.string().c_str(), reason.c_str());
    }
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < bytes.size()) {
        ssize_t const n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else done += static_cast<std::size_t>(n);
    }
    // Data must be on disk before the rename makes it visible, or a crash could leave an
    // empty file under the final name.
    if (ok && ::fsync(fd) != 0) ok = false;
    std::string const reason = ok ? std::string() : last_error_text();
    if (::close(fd) != 0 && ok) ok = false;
    if (!ok) {
        ::unlink(tmp.string().c_str());
        fail("%s: cannot write %s: %s", who, tmp.string().c_str(), reason.empty() ? "close failed" : reason.c_str());
    }
#else
    std::FILE* file = std::fopen(tmp.string().c_str(), "wb");
    if (!file) fail("%s: cannot create %s", who, tmp.string().c_str());
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    ok = std::fflush(file) == 0 && ok;
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        fail("%s: cannot write %s", who, tmp.string().c_str());
    }
#endif
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        fail("%s: cannot rename %s to %s: %s", who, tmp.string().c_str(), path.string().c_str(), ec.message().c_str());
    }
#if MIEN_IO_POSIX
    remove_stale_temps(path);
    // Persist the rename itself (best effort: not every file system lets a directory be synced).
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    int const dir_fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
#endif
}

}  // namespace mien::detail

namespace mien {

// A text file (CSV, JSON, ...) written the way mien writes its own files: either the old content
// or all of the new one, never a truncated report. `who` names the writer in errors.
inline void write_text_file(std::filesystem::path const& path, std::string_view text, char const* who) {
    detail::write_file_atomically(path, std::as_bytes(std::span<char const>(text.data(), text.size())), who);
}

}  // namespace mien
