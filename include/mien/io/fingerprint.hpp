// mien/io/fingerprint.hpp -- a network's topology as files see it: a compile-time
// fingerprint, a readable description and the names of its tensors.
//
//   static_assert(mien::topology_fingerprint<mien::models::paper<>> != mien::topology_fingerprint<mien::models::fast>);
//
// The fingerprint is FNV-1a 64 over every leaf layer, in order: its name, input and output
// extents (H, W, C), params, state_size and settings (every template argument that changes
// what the layer computes: kernel, stride, padding, bias, window, epsilon, ...; see
// core/layer.hpp). It is a constant of the network *type*, so a weights file can say which
// network wrote it at no run-time cost. The scalar type is left out on purpose: files store
// float32, and a float file loads into a double network.
//
// Version 1 (files written before settings were hashed) left the settings out, so max_pool<2>
// and max_pool<3, 2> on a 7x7 map looked the same; legacy_topology_fingerprint_v1 still gives
// that value, so the loaders can recognise an old file of the same topology.
//
// Tensor names are "<layer index>.<layer name>.<tensor name>", e.g. "00.conv2d.weight",
// "34.dense.bias": the layer index is the row of print_cost_table(), zero-padded to two digits
// (more when the network has over 100 leaf layers) so names sort in network order.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "../core/layer.hpp"

namespace mien {

namespace detail {

// FNV-1a 64: tiny, constexpr, and good enough to tell topologies apart (not a security hash).
struct fnv1a64 {
    std::uint64_t value = 0xcbf29ce484222325ull;
    constexpr void byte(unsigned char b) {
        value ^= b;
        value *= 0x100000001b3ull;
    }
    // Text is followed by a 0 byte so "ab"+"c" and "a"+"bc" hash differently.
    constexpr void text(std::string_view s) {
        for (char c : s) byte(static_cast<unsigned char>(c));
        byte(0);
    }
    constexpr void number(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) byte(static_cast<unsigned char>(v >> (8 * i)));
    }
};

template <class Body>
constexpr std::uint64_t fingerprint_of(bool with_settings) {
    fnv1a64 h;
    // The recipe's name: changes with the recipe, so fingerprints of different recipes never collide.
    h.text(with_settings ? "mien topology v2" : "mien topology v1");
    for_each_layer<Body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
        using I = typename L::input_shape;
        using O = typename L::output_shape;
        h.text(L::name);
        for (std::size_t v : {I::height, I::width, I::channels, O::height, O::width, O::channels})
            h.number(v);
        h.number(L::params);
        h.number(L::state_size);
        if (with_settings) {
            h.number(L::settings.size());
            for (double v : L::settings) h.number(std::bit_cast<std::uint64_t>(v));
        }
    });
    return h.value;
}

template <class Body>
constexpr std::size_t leaf_count() {
    std::size_t n = 0;
    for_each_layer<Body>([&]<class L>(std::size_t, std::size_t, std::size_t) { ++n; });
    return n;
}

// Digits of the layer index in tensor names: at least two, enough for the last index.
template <class Body>
constexpr int index_digits() {
    int digits = 1;
    for (std::size_t last = leaf_count<Body>() > 0 ? leaf_count<Body>() - 1 : 0; last >= 10; last /= 10) ++digits;
    return digits < 2 ? 2 : digits;
}

}  // namespace detail

// The topology fingerprint of a network type (a basic_network).
template <class Net>
inline constexpr std::uint64_t topology_fingerprint = detail::fingerprint_of<typename Net::body>(true);
// The version-1 fingerprint of the same type (no settings), as files written before v2 carry.
template <class Net>
inline constexpr std::uint64_t legacy_topology_fingerprint_v1 = detail::fingerprint_of<typename Net::body>(false);

// One line per leaf layer: "00 conv2d 48x48x1 -> 48x48x32 params 288 state 0 settings 32,3,1,1,0"
// (no "settings" part for a layer without any). Stored in weights files so a person (or an
// error message) can see what wrote them.
template <class Net>
std::string topology_description() {
    std::string text;
    std::size_t index = 0;
    for_each_layer<typename Net::body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
        using I = typename L::input_shape;
        using O = typename L::output_shape;
        char line[160];
        std::snprintf(line, sizeof line, "%0*zu %.*s %zux%zux%zu -> %zux%zux%zu params %zu state %zu",
                      detail::index_digits<typename Net::body>(), index++, int(L::name.size()), L::name.data(),
                      I::height, I::width, I::channels, O::height, O::width, O::channels, std::size_t(L::params),
                      std::size_t(L::state_size));
        text += line;
        char const* separator = " settings ";
        for (double v : L::settings) {
            std::snprintf(line, sizeof line, "%s%.17g", separator, v);
            text += line;
            separator = ",";
        }
        text += '\n';
    });
    return text;
}

// A tensor of a network with its file name.
struct named_tensor {
    std::string name;  // "00.conv2d.weight"
    tensor_info info;  // dims, offset, trainable (offset into parameters() or state())
};

// The file name of a tensor of Net.
template <class Net>
std::string tensor_file_name(tensor_info const& t) {
    char index[24];
    std::snprintf(index, sizeof index, "%0*zu", detail::index_digits<typename Net::body>(), t.layer_index);
    std::string name = index;
    name += '.';
    name += t.layer;
    name += '.';
    name += t.name;
    return name;
}

// Every tensor of net in network order (for each layer: its parameters, then its state).
template <class Net>
std::vector<named_tensor> named_tensors(Net const& net) {
    std::vector<named_tensor> list;
    net.for_each_tensor([&](tensor_info const& t) { list.push_back({tensor_file_name<Net>(t), t}); });
    return list;
}

}  // namespace mien
