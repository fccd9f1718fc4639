// mien/train/run_log.hpp -- a training run's per-epoch CSV log that always agrees with its checkpoint.
//
//   mien::run_log log("runs/a/log.csv", {"epoch", "lr", "train_loss", "val_accuracy"});
//   log.start(resumed_at);                       // 0: a fresh log; else keep rows of epochs <= it
//   log.append(epoch + 1, {lr, loss, accuracy});  // one row per epoch, numbers as std::ostream writes them
//
// The first column is the epoch (1-based). Every write replaces the whole file through
// write_file_atomically, so a kill leaves the old log or the new one, never half a row; rows
// for an epoch that is written again (a run killed after its log row and before its
// checkpoint repeats that epoch on resume) replace the old ones, and start() drops the rows of
// epochs the checkpoint has not reached. Numbers are written as std::ostream's default (%g, six
// significant digits): the format mien-train's log.csv has always had.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/binary.hpp"

namespace mien {

class run_log {
public:
    // `columns` names every column, the epoch first.
    run_log(std::filesystem::path path, std::vector<std::string> columns) : path_(std::move(path)), columns_(std::move(columns)) {
        if (columns_.empty()) fail("run_log: no columns");
    }

    std::filesystem::path const& path() const { return path_; }

    // Starts the log of a run that has finished `epochs_done` epochs: a fresh file with the header
    // when 0, else the existing rows of epochs 1..epochs_done (a missing file starts afresh).
    void start(std::size_t epochs_done) {
        rows_.clear();
        if (epochs_done > 0 && std::filesystem::exists(path_)) {
            auto const bytes = detail::read_file(path_, "run_log");
            std::string_view text(reinterpret_cast<char const*>(bytes.data()), bytes.size());
            bool header = true;
            while (!text.empty()) {
                std::size_t const end = text.find('\n');
                std::string_view const line = text.substr(0, end);
                text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
                if (std::exchange(header, false) || line.empty()) continue;
                std::size_t const epoch = std::strtoull(std::string(line.substr(0, line.find(','))).c_str(), nullptr, 10);
                if (epoch >= 1 && epoch <= epochs_done) rows_.emplace_back(epoch, std::string(line));
            }
        }
        write();
    }

    // Appends (or replaces) the row of `epoch` (1-based); later rows, from an earlier attempt, go.
    void append(std::size_t epoch, std::span<double const> values) {
        if (values.size() + 1 != columns_.size())
            fail("run_log: %zu values for the %zu columns after '%s'", values.size(), columns_.size() - 1, columns_[0].c_str());
        std::string row = std::to_string(epoch);
        for (double v : values) {
            char text[32];
            std::snprintf(text, sizeof text, ",%g", v);
            row += text;
        }
        std::erase_if(rows_, [&](auto const& r) { return r.first >= epoch; });
        rows_.emplace_back(epoch, std::move(row));
        write();
    }
    void append(std::size_t epoch, std::initializer_list<double> values) {
        append(epoch, std::span<double const>(values.begin(), values.size()));
    }

    std::size_t rows() const { return rows_.size(); }

private:
    void write() const {
        std::string text;
        for (std::size_t i = 0; i < columns_.size(); ++i) text += (i ? "," : "") + columns_[i];
        text += '\n';
        for (auto const& r : rows_) text += r.second + '\n';
        detail::write_file_atomically(path_, std::as_bytes(std::span<char const>(text.data(), text.size())), "run_log");
    }

    std::filesystem::path path_;
    std::vector<std::string> columns_;
    std::vector<std::pair<std::size_t, std::string>> rows_;  // (epoch, text)
};

}  // namespace mien
