// mien/io/checkpoint.hpp -- training checkpoints: resume exactly where a run stopped.
//
//   mien::save_checkpoint(trainer, "run.ckpt", {{"epoch", "12"}, {"best_accuracy", "0.71"}});
//   auto c = mien::load_checkpoint(trainer, "run.ckpt");   // c.metadata["epoch"] == "12"
//
// A checkpoint is a .mien file (weights.hpp, docs/WEIGHTS_FORMAT.md) of content kind 2 holding
// the network's tensors, then the optimizer's state as "optimizer" tensors (Adam:
// optimizer.first_moment and optimizer.second_moment; SGD: optimizer.velocity; each of shape
// (params)), and in the metadata the reserved keys mien.optimizer ("adam" / "sgd"),
// mien.optimizer.steps, mien.optimizer.learning_rate (a schedule may have changed it) and
// mien.rng.state (the trainer's generator, which draws the dropout masks). With all of it
// restored, training continues bit for bit as if it had never stopped.
//
// The topology must match exactly (fingerprint included): resuming into another network is
// a bug, not a migration. Loading checks everything before it writes anything.
#pragma once

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "weights.hpp"

namespace mien {

namespace detail {

template <class O>
concept adam_like = requires(O& o) {
    o.first_moment();
    o.second_moment();
};
template <class O>
concept sgd_like = requires(O& o) { o.velocity(); };

template <class O>
constexpr std::string_view optimizer_name() {
    static_assert(adam_like<O> || sgd_like<O>, "checkpoint: the optimizer has neither Adam moments nor SGD velocity");
    return adam_like<O> ? "adam" : "sgd";
}

// The optimizer's state arrays, with the names checkpoints give them.
template <class O, class F>
void for_each_moment(O& o, F&& f) {
    if constexpr (adam_like<O>) {
        f("optimizer.first_moment", o.first_moment());
        f("optimizer.second_moment", o.second_moment());
    } else {
        f("optimizer.velocity", o.velocity());
    }
}

inline std::string number_text(double v) {
    char text[32];
    auto const end = std::to_chars(text, text + sizeof text, v).ptr;  // shortest exact, locale-free
    return std::string(text, end);
}

template <class V>
V parse_number(file_metadata const& m, std::string const& key, char const* source) {
    auto const it = m.find(key);
    if (it == m.end()) fail("%s: checkpoint lacks '%s'", source, key.c_str());
    V v{};
    auto const [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || end != it->second.data() + it->second.size())
        fail("%s: checkpoint value of '%s' is not a number: '%s'", source, key.c_str(), it->second.c_str());
    return v;
}

}  // namespace detail

template <class Net, class Optimizer>
std::vector<std::byte> encode_checkpoint(Net const& net, Optimizer& optimizer, random_generator const& rng,
                                         file_metadata const& metadata = {}) {
    using T = typename Net::scalar;
    detail::check_user_metadata(metadata, "save_checkpoint");
    file_metadata all = metadata;
    all["mien.optimizer"] = std::string(detail::optimizer_name<Optimizer>());
    all["mien.optimizer.steps"] = std::to_string(optimizer.steps());
    all["mien.optimizer.learning_rate"] = detail::number_text(optimizer.learning_rate());
    all["mien.rng.state"] = std::to_string(rng.state());
    std::vector<detail::tensor_view<T>> tensors;
    detail::append_network(net, tensors);
    detail::for_each_moment(optimizer, [&](char const* name, auto const& values) {
        detail::tensor_view<T> v;
        v.name = name;
        v.rank = 1;
        v.dims[0] = values.size();
        v.kind = detail::tensor_kind::optimizer;
        v.data = values.data();
        v.count = values.size();
        tensors.push_back(std::move(v));
    });
    return detail::encode_file(detail::file_content::checkpoint, topology_fingerprint<Net>, topology_description<Net>(),
                               all, tensors);
}

// Restores net, optimizer and rng; all three are unchanged on error.
template <class Net, class Optimizer>
load_result decode_checkpoint(Net& net, Optimizer& optimizer, random_generator& rng, std::span<std::byte const> bytes,
                              char const* source = "<memory>") {
    detail::parsed_file const file = detail::parse_file(bytes, source);
    if (file.content != detail::file_content::checkpoint)
        fail("%s: a weights file, not a checkpoint (it has no optimizer state)", source);
    auto const model = named_tensors(net);
    load_result result = detail::match_network<Net>(file, model, source, topology_check::exact);
    auto const name_it = file.metadata.find("mien.optimizer");
    std::string_view const expected = detail::optimizer_name<Optimizer>();
    if (name_it == file.metadata.end() || name_it->second != expected)
        fail("%s: checkpoint optimizer '%s' != trainer optimizer '%.*s'", source,
             name_it == file.metadata.end() ? "(none)" : name_it->second.c_str(), int(expected.size()), expected.data());
    auto const steps = detail::parse_number<std::uint64_t>(file.metadata, "mien.optimizer.steps", source);
    auto const lr = detail::parse_number<double>(file.metadata, "mien.optimizer.learning_rate", source);
    auto const state = detail::parse_number<std::uint64_t>(file.metadata, "mien.rng.state", source);
    // Match the optimizer tensors by name and size before anything is written.
    detail::for_each_moment(optimizer, [&](char const* name, auto const& values) {
        for (auto const& t : file.tensors) {
            if (t.kind != detail::tensor_kind::optimizer || t.name != name) continue;
            if (t.rank != 1 || t.dims[0] != values.size())
                fail("%s: %s: file shape %s != model shape (%zu)", source, name, detail::format_shape(t.dims, t.rank).c_str(),
                     values.size());
            return;
        }
        fail("%s: checkpoint lacks optimizer tensor %s", source, name);
    });
    detail::check_finite(file, bytes, source);  // network and optimizer tensors alike
    detail::apply_network(file, model, bytes, net);
    detail::for_each_moment(optimizer, [&](char const* name, auto& values) {
        for (auto const& t : file.tensors)
            if (t.kind == detail::tensor_kind::optimizer && t.name == name) detail::read_values(bytes, t.data_at, t.count, values.data());
    });
    optimizer.set_steps(steps);
    optimizer.set_learning_rate(lr);
    rng.set_state(state);
    return result;
}

template <class Net, class Optimizer>
void save_checkpoint(Net const& net, Optimizer& optimizer, random_generator const& rng, std::filesystem::path const& path,
                     file_metadata const& metadata = {}) {
    detail::write_file_atomically(path, encode_checkpoint(net, optimizer, rng, metadata), "save_checkpoint");
}

template <class Net, class Optimizer>
load_result load_checkpoint(Net& net, Optimizer& optimizer, random_generator& rng, std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "load_checkpoint");
    return decode_checkpoint(net, optimizer, rng, bytes, path.string().c_str());
}

// The same for a mien::trainer (anything with network(), optimizer() and rng()).
template <class Trainer>
concept checkpointable = requires(Trainer& t) {
    t.network();
    t.optimizer();
    t.rng();
};

template <checkpointable Trainer>
std::vector<std::byte> encode_checkpoint(Trainer& trainer, file_metadata const& metadata = {}) {
    return encode_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), metadata);
}
template <checkpointable Trainer>
load_result decode_checkpoint(Trainer& trainer, std::span<std::byte const> bytes, char const* source = "<memory>") {
    return decode_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), bytes, source);
}
template <checkpointable Trainer>
void save_checkpoint(Trainer& trainer, std::filesystem::path const& path, file_metadata const& metadata = {}) {
    save_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), path, metadata);
}
template <checkpointable Trainer>
load_result load_checkpoint(Trainer& trainer, std::filesystem::path const& path) {
    return load_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), path);
}

}  // namespace mien
