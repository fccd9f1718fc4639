// mien/io/npz.hpp -- the network's tensors as a NumPy .npz archive, and back.
//
//   mien::save_npz(net, "model.npz");        // np.load("model.npz")["00.conv2d.weight"]
//   auto r = mien::load_npz(net, "model.npz");
//
// An .npz is a ZIP archive of .npy files. Arrays are named like the tensors of a .mien file
// ("00.conv2d.weight", see fingerprint.hpp), dtype '<f4', C order, shape = the tensor's dims:
//   conv2d / pointwise weight  [K][K][Cin][F] (HWIO, as Keras/TF)   bias [F]
//   depthwise_conv2d weight    [K][K][C]
//   dense weight               [In][Out]                           bias [Out]
//   qk_projection query_weight [C][Dq], query_bias [Dq], key_weight [C][Dk], key_bias [Dk]
//   additive_attention query_weight, key_weight [D][D], bias, score [D]
//   batch_norm gamma, beta, running_mean, running_var [C]         dropout rate [1]
// State tensors (running statistics, dropout rate) are included, so the archive is complete.
//
// Writing: stored (uncompressed) entries, our own ZIP headers and CRC-32; no zlib, and the
// output is deterministic (fixed timestamps). Reading accepts what np.savez writes (stored
// entries, zip64 extras, .npy versions 1 to 3, '<f4' or '<f8', C or Fortran order).
// Deflated entries (np.savez_compressed) are inflated with zlib when MIEN_WITH_ZLIB is defined
// and zlib linked (the CMake target mien::zlib does both); without it they are a clear error.
// zlib stays out of every other header, so the core and the umbrella need nothing but xsimd.
// Define MIEN_WITH_ZLIB for every translation unit of a program or for none: this header's
// inline functions differ with it.
// Loading checks every array before it writes any: the network is unchanged on error. Arrays
// the model has no tensor for are not an error; their names come back in npz_result::unused.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#if defined(MIEN_WITH_ZLIB)
#include <zlib.h>
#endif

#include "../core/error.hpp"
#include "binary.hpp"
#include "fingerprint.hpp"

namespace mien {

// One array of an .npz, in C order, whatever order and float width the file used.
struct npy_array {
    std::vector<std::size_t> shape;
    std::vector<double> values;
};

struct npz_result {
    std::vector<std::string> unused;  // arrays in the file that no model tensor took
};

namespace detail {

inline constexpr std::uint32_t zip_local_signature = 0x04034b50u;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50u;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50u;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50u;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50u;
inline constexpr std::uint16_t zip_dos_date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files

// The .npy v1.0 header: magic, version, length, then the dict padded to 64 bytes with '\n'.
inline std::string npy_header(std::span<std::size_t const> shape) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
    dict += shape.size() == 1 ? ",), }" : "), }";  // Python's tuples: (32,) and (3, 3)
    std::size_t const unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string header = "\x93NUMPY";
    header += '\x01';
    header += '\x00';
    header += static_cast<char>(dict.size() & 0xFF);
    header += static_cast<char>(dict.size() >> 8);
    return header + dict;
}

struct npz_entry_out {
    std::string name;  // without ".npy"
    std::vector<std::size_t> shape;
    std::vector<float> values;
};

inline std::vector<std::byte> encode_zip_of_npy(std::vector<npz_entry_out> const& arrays) {
    if (arrays.size() >= 0xFFFF) fail("save_npz: %zu arrays, a ZIP without zip64 holds at most 65534", arrays.size());
    byte_writer w;
    struct placed { std::string name; std::uint32_t crc; std::uint32_t size; std::uint32_t offset; };
    std::vector<placed> central;
    for (auto const& a : arrays) {
        byte_writer body;
        body.raw(npy_header(a.shape));
        for (float v : a.values) body.f32(v);
        if (body.size() >= 0xFFFFFFFFu || w.size() >= 0xFFFFFFFFu) fail("save_npz: %s: over 4 GiB needs zip64, which mien does not write", a.name.c_str());
        placed p{a.name + ".npy", crc32(body.bytes()), static_cast<std::uint32_t>(body.size()), static_cast<std::uint32_t>(w.size())};
        w.u32(zip_local_signature);
        for (std::uint16_t v : {std::uint16_t(20), std::uint16_t(0), std::uint16_t(0), std::uint16_t(0), zip_dos_date}) w.u16(v);  // version, flags, stored, time, date
        w.u32(p.crc);
        w.u32(p.size);  // compressed size = size: stored
        w.u32(p.size);
        w.u16(static_cast<std::uint16_t>(p.name.size()));
        w.u16(0);
        w.raw(p.name);
        w.raw(body.bytes());
        central.push_back(std::move(p));
    }
    std::size_t const directory_at = w.size();
    for (auto const& p : central) {
        w.u32(zip_central_signature);
        for (std::uint16_t v : {std::uint16_t(20), std::uint16_t(20), std::uint16_t(0), std::uint16_t(0), std::uint16_t(0), zip_dos_date}) w.u16(v);
        w.u32(p.crc);
        w.u32(p.size);
        w.u32(p.size);
        w.u16(static_cast<std::uint16_t>(p.name.size()));
        for (int i = 0; i < 4; ++i) w.u16(0);  // extra, comment, disk, internal attributes
        w.u32(0);                               // external attributes
        w.u32(p.offset);
        w.raw(p.name);
    }
    std::size_t const directory_size = w.size() - directory_at;
    if (w.size() >= 0xFFFFFFFFu) fail("save_npz: archive over 4 GiB needs zip64, which mien does not write");
    w.u32(zip_end_signature);
    w.u16(0);
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(central.size()));
    w.u16(static_cast<std::uint16_t>(central.size()));
    w.u32(static_cast<std::uint32_t>(directory_size));
    w.u32(static_cast<std::uint32_t>(directory_at));
    w.u16(0);
    return std::move(w.bytes());
}

struct zip_entry {
    std::string name;
    std::uint16_t method = 0;  // 0 stored, 8 deflate
    std::uint32_t crc = 0;
    std::uint64_t size = 0;           // uncompressed size, from the central directory
    std::span<std::byte const> data;  // as stored (compressed if method != 0)
};

// The central directory, with each entry's data located through its local header.
inline std::vector<zip_entry> read_zip(std::span<std::byte const> bytes, char const* source) {
    std::size_t const size = bytes.size();
    if (size < 22) fail("%s: not a ZIP/.npz file (%zu bytes, too short)", source, size);
    std::size_t end = size - 22;
    std::size_t const lowest = size >= 22 + 0xFFFF ? size - 22 - 0xFFFF : 0;  // the comment is at most 64 KiB
    for (;; --end) {
        if (byte_reader(bytes, end).u32() == zip_end_signature) break;
        if (end == lowest) fail("%s: not a ZIP/.npz file (no end of central directory)", source);
    }
    byte_reader e(bytes, end + 10);
    std::uint64_t count = e.u16();
    e.skip(4);  // directory size: the entries say their own lengths
    std::uint64_t directory_at = e.u32();
    if ((count == 0xFFFF || directory_at == 0xFFFFFFFFu) && end >= 20 && byte_reader(bytes, end - 20).u32() == zip64_locator_signature) {
        byte_reader locator(bytes, end - 12);
        std::uint64_t const at = locator.u64();
        byte_reader z(bytes, at > size ? size : std::size_t(at));
        if (z.u32() != zip64_end_signature) fail("%s: corrupt ZIP: bad zip64 end record", source);
        z.skip(28);
        count = z.u64();
        z.skip(8);
        directory_at = z.u64();
        if (!z.ok()) fail("%s: truncated ZIP: zip64 end record", source);
    }
    std::vector<zip_entry> entries;
    byte_reader c(bytes, directory_at > size ? size : std::size_t(directory_at));
    for (std::uint64_t i = 0; i < count; ++i) {
        if (c.u32() != zip_central_signature) fail("%s: corrupt ZIP: bad central directory entry %llu", source, static_cast<unsigned long long>(i));
        c.skip(4);
        std::uint16_t const flags = c.u16();
        zip_entry entry;
        entry.method = c.u16();
        c.skip(4);
        entry.crc = c.u32();
        std::uint64_t packed = c.u32();
        std::uint64_t unpacked = c.u32();
        std::uint16_t const name_length = c.u16(), extra_length = c.u16(), comment_length = c.u16();
        c.skip(8);
        std::uint64_t local_at = c.u32();
        auto const name = c.take(name_length);
        entry.name.assign(reinterpret_cast<char const*>(name.data()), name.size());
        // zip64: the 0xFFFFFFFF fields are in extra block 0x0001, in this order.
        byte_reader extra(c.take(extra_length));
        while (extra.has(4)) {
            std::uint16_t const id = extra.u16(), length = extra.u16();
            std::size_t const next = extra.position() + length;
            if (id == 0x0001) {
                if (unpacked == 0xFFFFFFFFu) unpacked = extra.u64();
                if (packed == 0xFFFFFFFFu) packed = extra.u64();
                if (local_at == 0xFFFFFFFFu) local_at = extra.u64();
            }
            extra.seek(next);
        }
        c.skip(comment_length);
        if (!c.ok()) fail("%s: truncated ZIP central directory (entry %llu)", source, static_cast<unsigned long long>(i));
        if (flags & 1u) fail("%s: %s is encrypted", source, entry.name.c_str());
        byte_reader local(bytes, local_at > size ? size : std::size_t(local_at));
        if (local.u32() != zip_local_signature) fail("%s: corrupt ZIP: bad local header for %s", source, entry.name.c_str());
        local.skip(22);
        std::uint16_t const local_name = local.u16(), local_extra = local.u16();
        local.skip(std::size_t(local_name) + local_extra);
        entry.data = local.take(packed > size ? size + 1 : std::size_t(packed));
        if (!local.ok()) fail("%s: truncated file: the data of %s runs past the end", source, entry.name.c_str());
        if (entry.method == 0 && unpacked != packed) fail("%s: corrupt ZIP: stored %s has two sizes", source, entry.name.c_str());
        entry.size = unpacked;
        entries.push_back(std::move(entry));
    }
    return entries;
}

// Finds `'key':` in a .npy header dict and returns what follows it, spaces skipped.
inline std::string_view npy_field(std::string_view dict, std::string_view key, char const* source, std::string const& name) {
    std::size_t at = dict.find("'" + std::string(key) + "'");
    if (at == std::string_view::npos) at = dict.find("\"" + std::string(key) + "\"");
    if (at == std::string_view::npos) fail("%s: %s: .npy header lacks '%.*s'", source, name.c_str(), int(key.size()), key.data());
    at = dict.find(':', at);
    if (at == std::string_view::npos) fail("%s: %s: malformed .npy header", source, name.c_str());
    std::string_view rest = dict.substr(at + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return rest;
}

// One stored .npy file, converted to double in C order.
inline npy_array parse_npy(std::span<std::byte const> bytes, char const* source, std::string const& name) {
    byte_reader r(bytes);
    auto const magic = r.take(6);
    if (!r.ok() || std::string_view(reinterpret_cast<char const*>(magic.data()), 6) != "\x93NUMPY")
        fail("%s: %s: not a .npy array (bad magic)", source, name.c_str());
    std::uint8_t const major = r.u8();
    r.u8();
    std::size_t const length = major == 1 ? r.u16() : r.u32();
    if (major < 1 || major > 3) fail("%s: %s: unsupported .npy version %u", source, name.c_str(), unsigned(major));
    auto const text = r.take(length);
    if (!r.ok()) fail("%s: %s: truncated .npy header", source, name.c_str());
    std::string_view const dict(reinterpret_cast<char const*>(text.data()), text.size());

    std::string_view descr = npy_field(dict, "descr", source, name);
    std::size_t const close = descr.find(descr.empty() ? '\'' : descr.front(), 1);
    descr = close == std::string_view::npos ? std::string_view() : descr.substr(1, close - 1);
    std::size_t const item = descr == "<f4" ? 4 : descr == "<f8" ? 8 : 0;
    if (item == 0)
        fail("%s: %s: dtype '%.*s' is not supported (expected '<f4' or '<f8')", source, name.c_str(), int(descr.size()), descr.data());
    bool const fortran = npy_field(dict, "fortran_order", source, name).starts_with("True");

    npy_array a;
    std::string_view shape = npy_field(dict, "shape", source, name);
    if (shape.empty() || shape.front() != '(') fail("%s: %s: malformed .npy shape", source, name.c_str());
    std::size_t count = 1;
    for (std::size_t i = 1; i < shape.size() && shape[i] != ')';) {
        if (shape[i] < '0' || shape[i] > '9') {
            ++i;
            continue;
        }
        std::size_t d = 0;
        while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9') d = d * 10 + std::size_t(shape[i++] - '0');
        a.shape.push_back(d);
        count = d != 0 && count > bytes.size() / d ? bytes.size() + 1 : count * d;
    }
    auto const data = r.take(count > bytes.size() ? bytes.size() + 1 : count * item);
    if (!r.ok())
        fail("%s: %s: truncated array data: shape %s needs %zu bytes, %zu present", source, name.c_str(),
             format_shape(a.shape, a.shape.size()).c_str(), count * item, bytes.size() - r.position());
    a.values.resize(count);
    byte_reader v(data);
    // Fortran order: the first index varies fastest. Walk the C-order index and its file offset.
    std::vector<std::size_t> index(a.shape.size(), 0), stride(a.shape.size(), 1);
    for (std::size_t k = 1; k < a.shape.size(); ++k) stride[k] = stride[k - 1] * a.shape[k - 1];
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t at = i;
        if (fortran) {
            at = 0;
            for (std::size_t k = 0; k < a.shape.size(); ++k) at += index[k] * stride[k];
            for (std::size_t k = a.shape.size(); k-- > 0;) {
                if (++index[k] < a.shape[k]) break;
                index[k] = 0;
            }
        }
        v.seek(at * item);
        a.values[i] = item == 4 ? double(v.f32()) : std::bit_cast<double>(v.u64());
    }
    return a;
}

inline std::string_view array_name(std::string_view entry) {
    return entry.ends_with(".npy") ? entry.substr(0, entry.size() - 4) : entry;
}

#if defined(MIEN_WITH_ZLIB)
// A deflated entry (ZIP method 8: raw deflate, no zlib header), inflated to exactly the size the
// central directory gives. Deflate cannot expand data more than about 1032 times, so a larger
// claimed size is a corrupt (or hostile) file, refused before anything is allocated for it.
inline std::vector<std::byte> inflate_entry(zip_entry const& e, char const* source, std::string const& name) {
    if (e.size > 1032 * std::uint64_t(e.data.size()) + 1024)
        fail("%s: %s: corrupt ZIP: %llu bytes cannot inflate to the %llu claimed", source, name.c_str(),
             static_cast<unsigned long long>(e.data.size()), static_cast<unsigned long long>(e.size));
    std::vector<std::byte> out(static_cast<std::size_t>(e.size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("%s: %s: zlib: inflateInit2 failed", source, name.c_str());
    // zlib counts in uInt (32 bits): feed and drain in chunks that type holds.
    constexpr std::size_t chunk = std::size_t(1) << 30;
    std::size_t in_at = 0, out_at = 0;
    std::byte spare{};  // room for one byte past the claimed size, to notice a longer stream
    std::string problem;
    for (;;) {
        if (z.avail_in == 0 && in_at < e.data.size()) {
            std::size_t const n = std::min(chunk, e.data.size() - in_at);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(e.data.data() + in_at));  // zlib does not write it
            z.avail_in = static_cast<uInt>(n);
            in_at += n;
        }
        bool const full = out_at == out.size();
        std::size_t const room = full ? 1 : std::min(chunk, out.size() - out_at);
        z.next_out = reinterpret_cast<Bytef*>(full ? &spare : out.data() + out_at);
        z.avail_out = static_cast<uInt>(room);
        int const status = inflate(&z, Z_NO_FLUSH);
        std::size_t const produced = room - z.avail_out;
        if (full && produced > 0) {
            problem = "it inflates to more than the " + std::to_string(out.size()) + " bytes the directory gives";
            break;
        }
        out_at += produced;
        if (status == Z_STREAM_END) break;
        if (status == Z_BUF_ERROR && z.avail_in == 0 && in_at == e.data.size()) {
            problem = "the deflate stream is cut short";
            break;
        }
        if (status != Z_OK && status != Z_BUF_ERROR) {
            problem = z.msg ? std::string("zlib: ") + z.msg : "zlib error " + std::to_string(status);
            break;
        }
    }
    inflateEnd(&z);
    if (!problem.empty()) fail("%s: %s: cannot inflate the compressed entry: %s", source, name.c_str(), problem.c_str());
    if (out_at != out.size())
        fail("%s: %s: cannot inflate the compressed entry: the stream ends after %zu of the %zu bytes the directory gives",
             source, name.c_str(), out_at, out.size());
    return out;
}
#endif

inline npy_array read_entry(zip_entry const& e, char const* source) {
    std::string const name(array_name(e.name));
    std::span<std::byte const> data = e.data;
#if defined(MIEN_WITH_ZLIB)
    std::vector<std::byte> inflated;
    if (e.method == 8) {
        inflated = inflate_entry(e, source, name);
        data = inflated;
    } else if (e.method != 0) {
        fail("%s: %s: ZIP method %u is not supported (expected 0, stored, or 8, deflate)", source, name.c_str(), unsigned(e.method));
    }
#else
    if (e.method != 0)
        fail("%s: %s is compressed (ZIP method %u); this build reads stored entries only: define MIEN_WITH_ZLIB and link "
             "zlib (CMake: mien::zlib), or save with np.savez, not np.savez_compressed",
             source, name.c_str(), unsigned(e.method));
#endif
    // The CRC-32 is of the uncompressed bytes (ZIP's rule), so it checks the inflater too.
    if (crc32(data) != e.crc) fail("%s: %s: CRC-32 mismatch (the file is corrupted)", source, name.c_str());
    return parse_npy(data, source, name);
}

}  // namespace detail

// Every array of an .npz (names without ".npy").
inline std::map<std::string, npy_array> decode_npz_arrays(std::span<std::byte const> bytes, char const* source = "<memory>") {
    std::map<std::string, npy_array> arrays;
    for (auto const& e : detail::read_zip(bytes, source)) arrays[std::string(detail::array_name(e.name))] = detail::read_entry(e, source);
    return arrays;
}

inline std::map<std::string, npy_array> read_npz(std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "read_npz");
    return decode_npz_arrays(bytes, path.string().c_str());
}

template <class Net>
std::vector<std::byte> encode_npz(Net const& net) {
    std::vector<detail::npz_entry_out> arrays;
    for (auto const& t : named_tensors(net)) {
        detail::npz_entry_out a;
        a.name = t.name;
        a.shape.assign(t.info.dims.begin(), t.info.dims.begin() + static_cast<std::ptrdiff_t>(t.info.rank));
        auto const* data = (t.info.trainable ? net.parameters().data() : net.state().data()) + t.info.offset;
        a.values.assign(data, data + t.info.size());
        arrays.push_back(std::move(a));
    }
    return detail::encode_zip_of_npy(arrays);
}

// Loads every tensor of net from the archive; net is unchanged on error.
template <class Net>
npz_result decode_npz(Net& net, std::span<std::byte const> bytes, char const* source = "<memory>") {
    using T = typename Net::scalar;
    auto const entries = detail::read_zip(bytes, source);
    std::map<std::string_view, detail::zip_entry const*> by_name;
    for (auto const& e : entries) by_name[detail::array_name(e.name)] = &e;
    auto const model = named_tensors(net);
    std::vector<std::vector<T>> values;  // staged: nothing is written until all arrays passed
    for (auto const& t : model) {
        std::string const shape = detail::format_shape(t.info.dims, t.info.rank);
        auto const it = by_name.find(t.name);
        if (it == by_name.end()) fail("%s: missing array %s (model shape %s)", source, t.name.c_str(), shape.c_str());
        npy_array const a = detail::read_entry(*it->second, source);
        bool same = a.shape.size() == t.info.rank;
        for (std::size_t d = 0; same && d < t.info.rank; ++d) same = a.shape[d] == t.info.dims[d];
        if (!same)
            fail("%s: %s: file shape %s != model shape %s", source, t.name.c_str(),
                 detail::format_shape(a.shape, a.shape.size()).c_str(), shape.c_str());
        values.emplace_back(a.values.begin(), a.values.end());
        by_name.erase(it);
    }
    for (std::size_t i = 0; i < model.size(); ++i) {
        auto const& t = model[i].info;
        T* base = t.trainable ? net.parameters().data() : net.state().data();
        std::copy(values[i].begin(), values[i].end(), base + t.offset);
    }
    npz_result result;
    for (auto const& [name, entry] : by_name) result.unused.emplace_back(name);
    return result;
}

template <class Net>
void save_npz(Net const& net, std::filesystem::path const& path) {
    detail::write_file_atomically(path, encode_npz(net), "save_npz");
}

template <class Net>
npz_result load_npz(Net& net, std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "load_npz");
    return decode_npz(net, bytes, path.string().c_str());
}

}  // namespace mien
