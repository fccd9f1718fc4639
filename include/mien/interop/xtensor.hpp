// mien/interop/xtensor.hpp -- mien networks with xtensor: predict from any xtensor expression,
// probabilities as xt::xtensor, parameter and state tensors as writable xtensor adaptors.
//
//   #include <mien/interop/xtensor.hpp>                  // CMake: link mien::xtensor
//   xt::xtensor<float, 4> faces = ...;                    // (N, 48, 48, 1), pixels / 255
//   xt::xtensor<float, 2> p = mien::xtensor::predict(net, faces);       // (N, 7)
//   auto w = mien::xtensor::tensor<4>(net, "00.conv2d.weight");         // (3, 3, 1, 32), writable
//   w(1, 1, 0, 5) = 0.5f;                                 // writes net.parameters() itself
//   auto f = mien::xtensor::fixed_tensor<3, 3, 1, 32>(net, "00.conv2d.weight");  // shape in the type
//   auto g = mien::xtensor::parameter<0>(net);            // the same, shape found by the compiler
//   auto m = mien::xtensor::tensor<"01.batch_norm.running_mean">(net);   // by name, shape (32)
//
// predict takes any expression (lazy ones too, e.g. `images / 255.0f`) of shape (H, W, C),
// (N, H, W, C), or, for one-channel networks, (H, W) and (N, H, W); it is evaluated once into a
// row-major buffer of the network's scalar type, then each face goes through net.predict. One
// face gives a (1, K) result, so the result is always (N, K).
//
// tensor<Rank>(net, name) adapts the network's own memory (no copy): the rank is a template
// argument, so the adaptor is an xt::xtensor_adaptor with a fixed rank, and its shape is the
// tensor's (docs/WEIGHTS_FORMAT.md lists them: conv2d weight (K, K, Cin, F), dense weight
// (In, Out), ...). fixed_tensor<Dims...>(net, name) is the same memory as an xfixed_adaptor, the
// shape a compile-time constant of its type (xtensor then sizes loops and temporaries at compile
// time); the dims are checked against the tensor's once, when it is made. A wrong name, rank or
// shape fails naming what exists. for_each_tensor(net, f) visits every tensor as
// (name, xt::xarray_adaptor) for code that does not know the ranks.
//
// parameter<I>(net) and tensor<"name">(net) need no shape from the caller: the network type's
// tensor table (mien::tensor_table, core/network.hpp) is a compile-time constant, so the I-th
// trainable tensor (parameter_count<Net> of them, file order) or the tensor of that file name
// comes back as an xfixed_adaptor whose shape type (parameter_shape<I, Net>) is the tensor's; a
// name the network lacks or an index past the end does not compile.
//
// This header is the only place mien includes xtensor: the core, the umbrella header and
// embedded builds never need it (STYLE convention 13). Debian 12's xtensor 0.24 keeps its
// headers flat (xtensor/xadapt.hpp); 0.26 moved them into subfolders: both are found below.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if __has_include(<xtensor/containers/xadapt.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xtensor.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>
#endif

#include "../core/error.hpp"
#include "../core/network.hpp"
#include "../io/fingerprint.hpp"

namespace mien::xtensor {

namespace detail {

inline std::string shape_text(std::span<std::size_t const> shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// The number of faces in an expression of this shape, or fail naming the accepted shapes.
template <class Net>
std::size_t face_count(std::span<std::size_t const> shape) {
    using S = typename Net::input_shape;
    constexpr std::size_t H = S::height, W = S::width, C = S::channels;
    auto const is = [&](std::initializer_list<std::size_t> want, std::size_t from) {
        return std::equal(want.begin(), want.end(), shape.begin() + std::ptrdiff_t(from), shape.end());
    };
    if (shape.size() == 3 && is({H, W, C}, 0)) return 1;
    if (shape.size() == 4 && is({H, W, C}, 1)) return shape[0];
    if (C == 1 && shape.size() == 2 && is({H, W}, 0)) return 1;
    if (C == 1 && shape.size() == 3 && is({H, W}, 1)) return shape[0];
    std::string accepted = "(H, W, C) or (N, H, W, C)";
    if constexpr (C == 1) accepted += ", (H, W) or (N, H, W)";
    std::array<std::size_t, 3> const hwc{H, W, C};
    fail("mien::xtensor::predict: expected faces of shape %s with (H, W, C) = %s, found %s", accepted.c_str(),
         shape_text(hwc).c_str(), shape_text(shape).c_str());
}

template <class Net>
named_tensor find_tensor(Net const& net, std::string_view name) {
    auto const all = named_tensors(net);
    for (auto const& t : all)
        if (t.name == name) return t;
    std::string names;
    for (auto const& t : all) names += (names.empty() ? "" : ", ") + t.name;
    fail("mien::xtensor::tensor: the network has no tensor '%.*s'; it has: %s", int(name.size()), name.data(), names.c_str());
}

template <class Net>
auto* data_of(Net& net, tensor_info const& t) {
    return (t.trainable ? net.parameters().data() : net.state().data()) + t.offset;
}

}  // namespace detail

// Probabilities (N, K) for the faces of `faces` (see the header comment for the shapes).
template <class Net, class E>
::xt::xtensor<typename Net::scalar, 2> predict(Net& net, ::xt::xexpression<E> const& faces) {
    using T = typename Net::scalar;
    E const& e = faces.derived_cast();
    std::vector<std::size_t> const shape(e.shape().begin(), e.shape().end());
    std::size_t const n = detail::face_count<Net>(shape);
    // One pass in row-major order evaluates any expression, whatever its layout or value type.
    std::vector<T> buffer(n * Net::inputs);
    std::size_t i = 0;
    for (auto it = e.template begin<::xt::layout_type::row_major>(); it != e.template end<::xt::layout_type::row_major>(); ++it)
        buffer[i++] = static_cast<T>(*it);
    ::xt::xtensor<T, 2> out = ::xt::xtensor<T, 2>::from_shape({n, Net::outputs});
    for (std::size_t f = 0; f < n; ++f) {
        auto const& p = net.predict(std::span<T const, Net::inputs>(buffer.data() + f * Net::inputs, Net::inputs));
        std::copy(p.begin(), p.end(), out.data() + f * Net::outputs);
    }
    return out;
}

// A writable view of the tensor `name` ("00.conv2d.weight") in the network's own memory, with
// its shape; Rank must be the tensor's rank.
template <std::size_t Rank, class Net>
auto tensor(Net& net, std::string_view name) {
    named_tensor const t = detail::find_tensor(net, name);
    if (t.info.rank != Rank)
        fail("mien::xtensor::tensor: %s has rank %zu (shape %s), not the %zu asked for", t.name.c_str(), t.info.rank,
             detail::shape_text(std::span<std::size_t const>(t.info.dims.data(), t.info.rank)).c_str(), Rank);
    std::array<std::size_t, Rank> shape{};
    std::copy_n(t.info.dims.begin(), Rank, shape.begin());
    return ::xt::adapt(detail::data_of(net, t.info), t.info.size(), ::xt::no_ownership(), shape);
}

// The tensor `name` as an xt::xfixed_adaptor of shape (Dims...): the shape is part of the type;
// it must be the tensor's (checked here, once).
template <std::size_t... Dims, class Net>
auto fixed_tensor(Net& net, std::string_view name) {
    static_assert(sizeof...(Dims) >= 1, "mien::xtensor::fixed_tensor: give the tensor's shape, e.g. <3, 3, 1, 32>");
    named_tensor const t = detail::find_tensor(net, name);
    std::array<std::size_t, sizeof...(Dims)> const want{Dims...};
    if (t.info.rank != want.size() || !std::equal(want.begin(), want.end(), t.info.dims.begin()))
        fail("mien::xtensor::fixed_tensor: %s has shape %s, not the %s asked for", t.name.c_str(),
             detail::shape_text(std::span<std::size_t const>(t.info.dims.data(), t.info.rank)).c_str(),
             detail::shape_text(want).c_str());
    return ::xt::adapt(detail::data_of(net, t.info), ::xt::fixed_shape<Dims...>{});
}

// Read-only, for a const network.
template <std::size_t Rank, class Net>
auto tensor(Net const& net, std::string_view name) {
    named_tensor const t = detail::find_tensor(net, name);
    if (t.info.rank != Rank)
        fail("mien::xtensor::tensor: %s has rank %zu (shape %s), not the %zu asked for", t.name.c_str(), t.info.rank,
             detail::shape_text(std::span<std::size_t const>(t.info.dims.data(), t.info.rank)).c_str(), Rank);
    std::array<std::size_t, Rank> shape{};
    std::copy_n(t.info.dims.begin(), Rank, shape.begin());
    using T = typename Net::scalar;
    T const* data = (t.info.trainable ? net.parameters().data() : net.state().data()) + t.info.offset;
    return ::xt::adapt(data, t.info.size(), ::xt::no_ownership(), shape);
}

// ---- tensors found by the compiler --------------------------------------------------------------

// A string as a template argument: tensor<"00.conv2d.weight">(net).
template <std::size_t N>
struct fixed_string {
    char text[N]{};
    constexpr fixed_string(char const (&s)[N]) { std::copy_n(s, N, text); }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

// How many trainable tensors Net has (weights, biases, batch-norm gamma and beta, ...).
template <class Net>
inline constexpr std::size_t parameter_count =
    std::size_t(std::count_if(tensor_table<Net>.begin(), tensor_table<Net>.end(), [](tensor_info const& t) { return t.trainable; }));

namespace detail {

// The row of tensor_table<Net> that holds the I-th trainable tensor.
template <class Net, std::size_t I>
constexpr std::size_t parameter_row() {
    static_assert(I < parameter_count<Net>, "mien::xtensor::parameter<I>: I is past the network's last trainable tensor "
                                            "(parameter_count<Net>)");
    std::size_t seen = 0;
    for (std::size_t row = 0; row < tensor_count<Net>; ++row)
        if (tensor_table<Net>[row].trainable && seen++ == I) return row;
    return tensor_count<Net>;
}

// Whether `name` is the file name of t, "<index>.<layer>.<tensor>" (io/fingerprint.hpp's
// tensor_file_name, which formats at run time), compared at compile time.
template <class Net>
constexpr bool has_file_name(tensor_info const& t, std::string_view name) {
    std::size_t const digits = std::size_t(mien::detail::index_digits<typename Net::body>());
    if (name.size() < digits) return false;
    std::size_t index = t.layer_index;
    for (std::size_t i = digits; i-- > 0; index /= 10)
        if (name[i] != char('0' + index % 10)) return false;
    if (index != 0) return false;
    name.remove_prefix(digits);
    return name.size() == t.layer.size() + t.name.size() + 2 && name[0] == '.' && name.substr(1, t.layer.size()) == t.layer &&
           name[1 + t.layer.size()] == '.' && name.substr(2 + t.layer.size()) == t.name;
}

template <class Net, fixed_string Name>
constexpr std::size_t named_row() {
    for (std::size_t row = 0; row < tensor_count<Net>; ++row)
        if (has_file_name<Net>(tensor_table<Net>[row], Name.view())) return row;
    return tensor_count<Net>;
}

template <class Net, std::size_t Row, std::size_t... K>
auto row_shape(std::index_sequence<K...>) -> ::xt::fixed_shape<tensor_table<Net>[Row].dims[K]...>;

// The xt::fixed_shape of row Row of Net's tensor table.
template <class Net, std::size_t Row>
using row_shape_t = decltype(row_shape<Net, Row>(std::make_index_sequence<tensor_table<Net>[Row].rank>{}));

// Row Row of the table as an xfixed_adaptor over the network's memory (const network: read-only).
template <std::size_t Row, class Net>
auto fixed_view(Net& net) {
    constexpr tensor_info t = tensor_table<std::remove_const_t<Net>>[Row];
    // The pointer as a prvalue: adapt() of an lvalue pointer keeps a reference to that variable.
    return ::xt::adapt((t.trainable ? net.parameters().data() : net.state().data()) + t.offset,
                       row_shape_t<std::remove_const_t<Net>, Row>{});
}

}  // namespace detail

// The shape of Net's I-th trainable tensor as a type: xt::fixed_shape<3, 3, 1, 32> for
// parameter 0 of the paper network.
template <std::size_t I, class Net>
using parameter_shape = detail::row_shape_t<Net, detail::parameter_row<Net, I>()>;

// The I-th trainable tensor of the network (file order; parameter_count<Net> of them) as an
// xt::xfixed_adaptor over the network's memory, writable, its shape parameter_shape<I, Net>.
template <std::size_t I, class Net>
auto parameter(Net& net) {
    constexpr std::size_t row = detail::parameter_row<std::remove_const_t<Net>, I>();
    if constexpr (row < tensor_count<std::remove_const_t<Net>>) return detail::fixed_view<row>(net);  // else: the static_assert alone
}

// The tensor of that file name ("00.conv2d.weight", "01.batch_norm.running_mean": parameters
// and state alike) as an xt::xfixed_adaptor with the tensor's shape; a name the network does
// not have does not compile.
template <fixed_string Name, class Net>
auto tensor(Net& net) {
    constexpr std::size_t row = detail::named_row<std::remove_const_t<Net>, Name>();
    static_assert(row < tensor_count<std::remove_const_t<Net>>,
                  "mien::xtensor::tensor<name>: the network has no tensor of that name (names as in weights files: "
                  "\"00.conv2d.weight\"; mien::named_tensors lists them)");
    if constexpr (row < tensor_count<std::remove_const_t<Net>>) return detail::fixed_view<row>(net);
}

// Calls f(name, adaptor) for every tensor of the network in file order; the adaptor is an
// xt::xarray_adaptor (rank known at run time) over the network's memory, writable.
template <class Net, class F>
void for_each_tensor(Net& net, F&& f) {
    for (auto const& t : named_tensors(net)) {
        std::vector<std::size_t> const shape(t.info.dims.begin(), t.info.dims.begin() + std::ptrdiff_t(t.info.rank));
        auto view = ::xt::adapt(detail::data_of(net, t.info), t.info.size(), ::xt::no_ownership(), shape);
        f(std::string_view(t.name), view);
    }
}

}  // namespace mien::xtensor
