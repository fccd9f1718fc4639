// mien/train/checkpoint.hpp -- a training run's checkpoint: the trainer, where the run stands, and
// the settings a resumed run must share.
//
//   auto const s = mien::run_settings::of({{"seed", "1"}, {"batch_size", "32"}});    // compared on resume
//   mien::save_run_checkpoint(*tr, "runs/a/last.ckpt", s, {.epoch = 3, .batch = 0, .best_accuracy = 0.61});
//   mien::run_position p = mien::load_run_checkpoint(*tr, "runs/a/last.ckpt", s);   // p.epoch == 3
//
// The file is io/checkpoint.hpp's (network, optimizer moments, generator state), written with
// write_file_atomically; the run adds to its metadata the settings' values, the position
// ("epoch", "batch": the epochs finished and the batches of the next one already trained) and
// "best_accuracy" with all 17 digits: with std::to_string's six decimals a resumed run took an
// accuracy equal to the best for a better one and overwrote the best weights
// (tests/reliability/kill_resume.sh). These are the keys mien-train has always written, so its
// checkpoints resume with this header and the other way round.
//
// Loading compares the settings named in `compared` with the stored ones before anything is
// trained: resuming another run's checkpoint (another seed, batch size, targets) would silently
// mix two experiments. A key a file lacks has the value of `defaults` (else ""), so settings
// added later describe older files by their default; keys in `added_later` are not compared
// when the file predates them.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/checkpoint.hpp"

namespace mien {

// Where a run stands.
struct run_position {
    std::size_t epoch = 0;      // epochs finished
    std::size_t batch = 0;      // batches of the next epoch already trained (0 at an epoch's end)
    double best_accuracy = -1;  // best validation accuracy so far; -1 before the first
};

// What a resumed run must share with the run that wrote the checkpoint.
struct run_settings {
    file_metadata values;               // stored in every checkpoint (and, by mien::run_folder, in best.mien)
    std::vector<std::string> compared;  // keys compared on resume, present in `values` or not
    file_metadata defaults;             // a key a file or `values` lacks has this value (else "")
    std::vector<std::string> added_later;  // not compared when the file lacks them
    // The refusal's first word and its advice (a command line names its flags here).
    std::string who = "resume", advice = "resume with the same settings (or start another run)";

    // Settings whose every key is compared on resume: run_settings::of({{"seed", "1"}, {"epochs", "30"}}).
    static run_settings of(file_metadata values) {
        run_settings s;
        for (auto const& entry : values) s.compared.push_back(entry.first);
        s.values = std::move(values);
        return s;
    }

    std::string value_in(file_metadata const& m, std::string const& key) const {
        if (auto const it = m.find(key); it != m.end()) return it->second;
        if (auto const it = defaults.find(key); it != defaults.end()) return it->second;
        return "";
    }
};

// Fails when `stored` (a checkpoint's metadata) was written with other settings than `now`:
// "resume: <source> was trained with seed '1', this run asks for '2'; resume with the same ...".
inline void check_run_settings(file_metadata const& stored, run_settings const& now, std::string const& source) {
    for (std::string const& key : now.compared) {
        bool const newer = std::find(now.added_later.begin(), now.added_later.end(), key) != now.added_later.end();
        if (newer && !stored.contains(key)) continue;
        std::string const was = now.value_in(stored, key), is = now.value_in(now.values, key);
        if (was != is)
            fail("%s: %s was trained with %s '%s', this run asks for '%s'; %s", now.who.c_str(), source.c_str(), key.c_str(),
                 was.c_str(), is.c_str(), now.advice.c_str());
    }
}

namespace detail {

inline std::string exact_number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    return text;
}

template <class V>
V run_number(file_metadata const& m, char const* key, std::string const& source) {
    auto const it = m.find(key);
    if (it == m.end()) fail("%s: not a run's checkpoint: it lacks '%s'", source.c_str(), key);
    V v{};
    char const* const end = it->second.data() + it->second.size();
    auto const [at, ec] = std::from_chars(it->second.data(), end, v);
    if (ec != std::errc() || at != end) fail("%s: checkpoint value of '%s' is not a number: '%s'", source.c_str(), key, it->second.c_str());
    return v;
}

}  // namespace detail

// The metadata of a run's checkpoint: the settings' values, `extra`, and the position.
inline file_metadata run_checkpoint_metadata(run_settings const& settings, run_position const& at, file_metadata const& extra = {}) {
    file_metadata m = settings.values;
    for (auto const& [key, value] : extra) m[key] = value;
    m["epoch"] = std::to_string(at.epoch);
    m["batch"] = std::to_string(at.batch);
    m["best_accuracy"] = detail::exact_number(at.best_accuracy);
    return m;
}

// Writes the trainer and the run's position to `path` atomically (the old file survives a crash).
template <checkpointable Trainer>
void save_run_checkpoint(Trainer& tr, std::filesystem::path const& path, run_settings const& settings, run_position const& at,
                         file_metadata const& extra = {}) {
    save_checkpoint(tr, path, run_checkpoint_metadata(settings, at, extra));
}

// Restores the trainer from `path` and returns where the run stood; fails, before changing
// anything the settings decide, when the checkpoint was written with other settings.
template <checkpointable Trainer>
run_position load_run_checkpoint(Trainer& tr, std::filesystem::path const& path, run_settings const& settings) {
    std::string const source = path.string();
    // Decoded into the trainer only once the settings match: a refused file leaves it as it was.
    auto const bytes = detail::read_file(path, "load_checkpoint");
    detail::parsed_file const file = detail::parse_file(bytes, source.c_str());
    // A weights file is refused as decode_checkpoint refuses it (before it writes anything).
    if (file.content != detail::file_content::checkpoint) decode_checkpoint(tr, bytes, source.c_str());
    file_metadata const& stored = file.metadata;
    check_run_settings(stored, settings, source);
    run_position at;
    at.epoch = detail::run_number<std::size_t>(stored, "epoch", source);
    at.batch = detail::run_number<std::size_t>(stored, "batch", source);
    at.best_accuracy = detail::run_number<double>(stored, "best_accuracy", source);
    decode_checkpoint(tr, bytes, source.c_str());
    return at;
}

}  // namespace mien
