// mien/io/weights.hpp -- versioned binary weights (.mien); the container checkpoints share.
//
//   mien::save_weights(net, "model.mien");                  // atomic: old file kept on failure
//   auto r = mien::load_weights(net, "model.mien");         // validates everything first
//   if (!r.topology_matches) std::puts(r.warning.c_str());
//
// The layout is in docs/WEIGHTS_FORMAT.md: "MIEN", version, file size, content kind, topology
// fingerprint and description, key/value metadata, named tensors (float32 little-endian),
// CRC-32. A load parses and checks the whole file before it touches the network, so a bad
// file leaves the network as it was. Errors name the source and, for a shape mismatch, the
// first differing tensor with both shapes:
//   "03.conv2d.weight: file shape (3,3,1,64) != model shape (3,3,1,32)".
//
// Topology policy: tensors are matched by position, and their kinds and shapes must agree.
// When they do but the fingerprints differ (say a relu was inserted, which shifts the layer
// indices in the names) the default, topology_check::shapes, loads and reports it in
// load_result (topology_matches = false, warning says what differs); topology_check::exact
// makes it an error. Checkpoints (checkpoint.hpp) always use exact.
//
// Class names travel with the weights: save_weights stores the names of the outputs (given, or
// the default of the output count) under the reserved metadata key mien.labels, and
// load_result::labels returns them. The layout is unchanged (still version 1): readers that
// predate the key ignore it, and files without it get the default names (models/labels.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../models/labels.hpp"
#include "binary.hpp"
#include "fingerprint.hpp"

namespace mien {

inline constexpr std::uint32_t weights_format_version = 1;

enum class topology_check { shapes, exact };

// User key/value strings stored with weights or a checkpoint (epoch, step, best accuracy...).
// Keys starting with "mien." are reserved for the library.
using file_metadata = std::map<std::string, std::string>;

struct load_result {
    bool topology_matches = true;  // the file's fingerprint is the model's
    std::string warning;           // what differs when it is not (empty otherwise)
    std::uint64_t file_fingerprint = 0;
    std::uint64_t model_fingerprint = 0;
    std::string file_topology;     // the description the writer stored
    file_metadata metadata;        // the user's key/value pairs
    // The names of the model's outputs: as stored (reserved key mien.labels), else the default of
    // the output count (models/labels.hpp: FER2013's 7, FER+'s 8), else empty.
    std::vector<std::string> labels;
};

namespace detail {

enum class file_content : std::uint32_t { weights = 1, checkpoint = 2 };
enum class tensor_kind : std::uint32_t { parameter = 0, state = 1, optimizer = 2 };
inline constexpr std::size_t header_bytes = 16;  // magic, version, file size
inline constexpr std::size_t max_rank = 4;

inline char const* kind_text(tensor_kind k) {
    return k == tensor_kind::parameter ? "parameter" : k == tensor_kind::state ? "state" : "optimizer";
}

// A tensor to write: name, shape, kind and its values (converted to float32).
template <class T>
struct tensor_view {
    std::string name;
    std::array<std::uint64_t, max_rank> dims{};
    std::size_t rank = 0;
    tensor_kind kind = tensor_kind::parameter;
    T const* data = nullptr;
    std::size_t count = 0;
};

// A tensor as found in a file: its data stays in the byte buffer until the load is approved.
struct file_tensor {
    std::string name;
    std::array<std::uint64_t, max_rank> dims{};
    std::size_t rank = 0;
    tensor_kind kind = tensor_kind::parameter;
    std::size_t data_at = 0;  // byte offset of the float32 values
    std::size_t count = 0;
};

struct parsed_file {
    file_content content = file_content::weights;
    std::uint64_t fingerprint = 0;
    std::string description;
    file_metadata metadata;
    std::vector<file_tensor> tensors;
};

inline bool reserved_key(std::string_view key) { return key.starts_with("mien."); }

// Class names are stored one per line under mien.labels. A name must be non-empty and free of
// line breaks and commas (programs write them as CSV headers).
inline std::string encode_labels(std::span<std::string const> names, std::size_t outputs, char const* who) {
    if (names.size() != outputs)
        fail("%s: %zu class names for a model with %zu outputs", who, names.size(), outputs);
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty() || names[i].find_first_of(",\r\n") != std::string::npos)
            fail("%s: class name %zu '%s' is empty or holds a comma or line break", who, i, names[i].c_str());
        text += (i ? "\n" : "") + names[i];
    }
    return text;
}

inline std::vector<std::string> decode_labels(file_metadata const& metadata, std::size_t outputs, char const* source) {
    std::vector<std::string> names;
    auto const it = metadata.find("mien.labels");
    if (it == metadata.end()) {
        for (auto name : default_class_names(outputs)) names.emplace_back(name);
        return names;
    }
    std::string_view rest = it->second;
    while (true) {
        std::size_t const end = rest.find('\n');
        names.emplace_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    if (names.size() != outputs)
        fail("%s: the file names %zu classes (mien.labels), the model has %zu outputs", source, names.size(), outputs);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i].empty() || names[i].find_first_of(",\r") != std::string::npos)
            fail("%s: class name %zu '%s' in mien.labels is empty or holds a comma", source, i, names[i].c_str());
    return names;
}

template <class T>
std::vector<std::byte> encode_file(file_content content, std::uint64_t fingerprint, std::string_view description,
                                   file_metadata const& metadata, std::vector<tensor_view<T>> const& tensors) {
    byte_writer w;
    w.raw("MIEN");
    w.u32(weights_format_version);
    w.u64(0);  // file size, patched below
    w.u32(static_cast<std::uint32_t>(content));
    w.u64(fingerprint);
    w.text(description);
    w.u32(static_cast<std::uint32_t>(metadata.size()));
    for (auto const& [key, value] : metadata) {
        w.text(key);
        w.text(value);
    }
    w.u32(static_cast<std::uint32_t>(tensors.size()));
    for (auto const& t : tensors) {
        w.text(t.name);
        w.u32(static_cast<std::uint32_t>(t.rank));
        for (std::size_t i = 0; i < t.rank; ++i) w.u64(t.dims[i]);
        w.u32(static_cast<std::uint32_t>(t.kind));
        for (std::size_t i = 0; i < t.count; ++i) w.f32(static_cast<float>(t.data[i]));
    }
    w.patch_u64(8, w.size() + 4);
    w.u32(crc32(w.bytes()));
    return std::move(w.bytes());
}

// Checks magic, version, size and checksum, then reads the structure. When the file is
// shorter than its header says, the parse goes as far as it can to say where it was cut.
inline parsed_file parse_file(std::span<std::byte const> bytes, char const* source) {
    std::size_t const size = bytes.size();
    std::string_view const magic = "MIEN";
    for (std::size_t i = 0; i < magic.size() && i < size; ++i)
        if (std::to_integer<char>(bytes[i]) != magic[i]) fail("%s: not a mien file (bad magic)", source);
    if (size < header_bytes) fail("%s: truncated file: %zu bytes, the header alone needs %zu", source, size, header_bytes);
    byte_reader r(bytes, 4);
    std::uint32_t const version = r.u32();
    if (version != weights_format_version)
        fail("%s: unsupported format version: expected %u, found %u", source, unsigned(weights_format_version), unsigned(version));
    std::uint64_t const declared = r.u64();
    bool const truncated = size < declared;
    if (size > declared)
        fail("%s: %zu unexpected bytes after the end of the file (its header says %llu bytes)", source,
             size - std::size_t(declared), static_cast<unsigned long long>(declared));
    if (!truncated) {
        byte_reader tail(bytes, size - 4);
        std::uint32_t const stored = tail.u32(), computed = crc32(bytes.first(size - 4));
        if (stored != computed)
            fail("%s: checksum mismatch: stored 0x%08x, computed 0x%08x (the file is corrupted)", source, unsigned(stored),
                 unsigned(computed));
    }
    // Where the reader ran out of bytes: a truncation if the file is short, else malformed.
    std::string where = "the header";
    auto check = [&] {
        if (r.ok()) return;
        if (truncated)
            fail("%s: truncated file: %zu of %llu bytes; it ends inside %s, read from byte %zu", source, size,
                 static_cast<unsigned long long>(declared), where.c_str(), r.position());
        fail("%s: malformed file: %s runs past the end (byte %zu)", source, where.c_str(), r.position());
    };
    parsed_file file;
    std::uint32_t const content = r.u32();
    file.fingerprint = r.u64();
    where = "the topology description";
    file.description = r.text();
    where = "the metadata";
    std::uint32_t const entries = r.u32();
    check();
    if (content != 1 && content != 2) fail("%s: malformed file: unknown content kind %u", source, unsigned(content));
    file.content = static_cast<file_content>(content);
    for (std::uint32_t i = 0; i < entries; ++i) {
        std::string key = r.text();
        std::string value = r.text();
        check();
        file.metadata[std::move(key)] = std::move(value);
    }
    where = "the tensor count";
    std::uint32_t const count = r.u32();
    check();
    for (std::uint32_t i = 0; i < count; ++i) {
        file_tensor t;
        where = "the header of tensor " + std::to_string(i);
        t.name = r.text();
        where = "the header of tensor " + std::to_string(i) + " (" + t.name + ")";
        t.rank = r.u32();
        check();
        if (t.rank == 0 || t.rank > max_rank)
            fail("%s: malformed file: %s has rank %zu (1 to %zu supported)", source, t.name.c_str(), t.rank, max_rank);
        t.count = 1;
        bool huge = false;  // more values than the file has bytes: never multiply past that
        for (std::size_t d = 0; d < t.rank; ++d) {
            t.dims[d] = r.u64();
            if (t.dims[d] != 0 && t.count > size / t.dims[d]) huge = true;
            else t.count *= std::size_t(t.dims[d]);
        }
        std::uint32_t const kind = r.u32();
        check();
        if (kind > 2) fail("%s: malformed file: %s has unknown kind %u", source, t.name.c_str(), unsigned(kind));
        t.kind = static_cast<tensor_kind>(kind);
        where = "the data of tensor " + std::to_string(i) + " (" + t.name + ")";
        t.data_at = r.position();
        r.skip(huge ? size + 1 : t.count * 4);
        check();
        file.tensors.push_back(std::move(t));
    }
    where = "the checksum";
    r.skip(4);
    check();
    if (truncated) fail("%s: truncated file: %zu of %llu bytes", source, size, static_cast<unsigned long long>(declared));
    if (r.position() != size) fail("%s: malformed file: the tensors end at byte %zu, the file at %zu", source, r.position() - 4, size - 4);
    return file;
}

// The network's tensors as writable views.
template <class Net>
void append_network(Net const& net, std::vector<tensor_view<typename Net::scalar>>& out) {
    for (auto const& t : named_tensors(net)) {
        tensor_view<typename Net::scalar> v;
        v.name = t.name;
        v.rank = t.info.rank;
        for (std::size_t i = 0; i < t.info.rank; ++i) v.dims[i] = t.info.dims[i];
        v.kind = t.info.trainable ? tensor_kind::parameter : tensor_kind::state;
        v.data = (t.info.trainable ? net.parameters().data() : net.state().data()) + t.info.offset;
        v.count = t.info.size();
        out.push_back(std::move(v));
    }
}

inline void check_user_metadata(file_metadata const& metadata, char const* who) {
    for (auto const& entry : metadata)
        if (reserved_key(entry.first)) fail("%s: metadata key '%s' is reserved (keys starting with 'mien.')", who, entry.first.c_str());
}

// Checks that the file's network tensors fit Net; fills the load_result. Throws on a mismatch.
template <class Net>
load_result match_network(parsed_file const& file, std::vector<named_tensor> const& model, char const* source,
                          topology_check policy) {
    load_result result;
    result.file_fingerprint = file.fingerprint;
    result.model_fingerprint = topology_fingerprint<Net>;
    // A file written before settings were hashed (fingerprint v1) matches when its v1 value does.
    result.topology_matches = file.fingerprint == result.model_fingerprint ||
                              file.fingerprint == legacy_topology_fingerprint_v1<Net>;
    result.file_topology = file.description;
    for (auto const& [key, value] : file.metadata)
        if (!reserved_key(key)) result.metadata[key] = value;
    result.labels = decode_labels(file.metadata, Net::outputs, source);

    std::vector<file_tensor const*> stored;
    for (auto const& t : file.tensors)
        if (t.kind != tensor_kind::optimizer) stored.push_back(&t);
    std::string const counts = stored.size() == model.size()
                                   ? std::string()
                                   : " (and the file has " + std::to_string(stored.size()) + " tensors, the model " +
                                         std::to_string(model.size()) + ")";
    std::string renamed;
    for (std::size_t i = 0; i < stored.size() && i < model.size(); ++i) {
        file_tensor const& f = *stored[i];
        tensor_info const& m = model[i].info;
        char const* name = model[i].name.c_str();
        tensor_kind const kind = m.trainable ? tensor_kind::parameter : tensor_kind::state;
        if (f.kind != kind)
            fail("%s: %s: file tensor %s is %s, the model's is %s%s", source, name, f.name.c_str(), kind_text(f.kind),
                 kind_text(kind), counts.c_str());
        bool same = f.rank == m.rank;
        for (std::size_t d = 0; same && d < m.rank; ++d) same = f.dims[d] == m.dims[d];
        if (!same)
            fail("%s: %s: file shape %s != model shape %s%s%s", source, name, format_shape(f.dims, f.rank).c_str(),
                 format_shape(m.dims, m.rank).c_str(), f.name == model[i].name ? "" : (" (file tensor " + f.name + ")").c_str(),
                 counts.c_str());
        if (renamed.empty() && f.name != model[i].name) renamed = "file tensor " + f.name + " loaded into " + model[i].name;
    }
    if (stored.size() != model.size())
        fail("%s: tensor count mismatch: file has %zu tensors, model has %zu (first unmatched: %s)", source, stored.size(),
             model.size(),
             stored.size() > model.size() ? ("file " + stored[model.size()]->name).c_str()
                                          : ("model " + model[stored.size()].name).c_str());
    if (!result.topology_matches || !renamed.empty()) {
        char head_text[160];
        std::snprintf(head_text, sizeof head_text, "topology fingerprint mismatch: file 0x%016llx != model 0x%016llx",
                      static_cast<unsigned long long>(file.fingerprint), static_cast<unsigned long long>(result.model_fingerprint));
        std::string const head = head_text;
        result.warning = result.topology_matches ? renamed : head + (renamed.empty() ? "" : "; " + renamed);
        result.topology_matches = false;
        if (policy == topology_check::exact)
            fail("%s: %s; file topology:\n%s", source, result.warning.c_str(), file.description.c_str());
    }
    return result;
}

// A weights file holds finite numbers only. NaN or infinity in a tensor means a diverged run
// wrote it or it was damaged before its checksum was computed; loaded, it would make every
// prediction NaN far from the cause, so the load is refused here, naming the tensor. The test
// is on the bits (exponent all ones), which -ffast-math cannot fold away as it may isfinite().
inline void check_finite(parsed_file const& file, std::span<std::byte const> bytes, char const* source) {
    for (auto const& t : file.tensors) {
        byte_reader r(bytes, t.data_at);
        for (std::size_t i = 0; i < t.count; ++i) {
            std::uint32_t const bits = r.u32();
            if ((bits & 0x7F800000u) != 0x7F800000u) continue;
            char const* const what = (bits & 0x007FFFFFu) != 0 ? "NaN" : (bits >> 31) != 0 ? "-inf" : "+inf";
            fail("%s: %s: value %zu of %zu is %s (a weights file must hold finite numbers)", source, t.name.c_str(), i,
                 t.count, what);
        }
    }
}

// Reads count float32 values at `at` into out (converting to T).
template <class T>
void read_values(std::span<std::byte const> bytes, std::size_t at, std::size_t count, T* out) {
    byte_reader r(bytes, at);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(r.f32());
}

// Copies the (already validated) network tensors into net.
template <class Net>
void apply_network(parsed_file const& file, std::vector<named_tensor> const& model, std::span<std::byte const> bytes,
                   Net& net) {
    std::size_t i = 0;
    for (auto const& f : file.tensors) {
        if (f.kind == tensor_kind::optimizer) continue;
        tensor_info const& m = model[i++].info;
        auto* base = m.trainable ? net.parameters().data() : net.state().data();
        read_values(bytes, f.data_at, f.count, base + m.offset);
    }
}


}  // namespace detail

// ---- weights ----

// `labels`: the names of the outputs, stored with the weights (mien.labels); empty: the default
// names of the output count (models/labels.hpp), when there are any.
template <class Net>
std::vector<std::byte> encode_weights(Net const& net, file_metadata const& metadata = {},
                                      std::span<std::string const> labels = {}) {
    detail::check_user_metadata(metadata, "save_weights");
    file_metadata all = metadata;
    if (!labels.empty()) {
        all["mien.labels"] = detail::encode_labels(labels, Net::outputs, "save_weights");
    } else if (auto const names = default_class_names(Net::outputs); !names.empty()) {
        std::vector<std::string> const defaults(names.begin(), names.end());
        all["mien.labels"] = detail::encode_labels(defaults, Net::outputs, "save_weights");
    }
    std::vector<detail::tensor_view<typename Net::scalar>> tensors;
    detail::append_network(net, tensors);
    return detail::encode_file(detail::file_content::weights, topology_fingerprint<Net>, topology_description<Net>(),
                               all, tensors);
}

// Loads weights (or the network part of a checkpoint) into net; net is unchanged on error.
template <class Net>
load_result decode_weights(Net& net, std::span<std::byte const> bytes, char const* source = "<memory>",
                           topology_check policy = topology_check::shapes) {
    detail::parsed_file const file = detail::parse_file(bytes, source);
    auto const model = named_tensors(net);
    load_result result = detail::match_network<Net>(file, model, source, policy);
    detail::check_finite(file, bytes, source);
    detail::apply_network(file, model, bytes, net);
    return result;
}

template <class Net>
void save_weights(Net const& net, std::filesystem::path const& path, file_metadata const& metadata = {},
                  std::span<std::string const> labels = {}) {
    detail::write_file_atomically(path, encode_weights(net, metadata, labels), "save_weights");
}

template <class Net>
load_result load_weights(Net& net, std::filesystem::path const& path, topology_check policy = topology_check::shapes) {
    auto const bytes = detail::read_file(path, "load_weights");
    return decode_weights(net, bytes, path.string().c_str(), policy);
}

}  // namespace mien
