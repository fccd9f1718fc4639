// mien/train/run.hpp -- a training run's folder: resume, best weights, checkpoint and log.
//
//   mien::run_folder run("runs/a", settings);   // best.mien, best.npz, last.ckpt, log.csv
//   mien::run_position const at = run.start(*tr, resume);
//   mien::stop_on_interrupt();                                                   // interrupt.hpp
//   for (std::size_t e = at.epoch; e < epochs; ++e) {
//       o.epoch = e;
//       o.first_batch = e == at.epoch ? at.batch : 0;
//       auto const r = mien::train_epoch(*tr, train, o, &mien::stop_requested());
//       if (r.status == mien::epoch_result::interrupted) { run.save(*tr, e, r.batch); return 130; }
//       if (r.status == mien::epoch_result::not_finite) return 3;   // the files keep the last good state
//       run.finish_epoch(*tr, e, r, mien::evaluate(*tr, val), seconds);
//   }
//
// What mien-train does around the epoch loop, for a program of one's own:
//  * start(tr, resume): with resume and a checkpoint in the folder, the trainer is restored from
//    it (train/checkpoint.hpp: refused when the settings differ) and the run continues at the
//    batch it stopped at; else a fresh run. The log keeps the rows of the epochs done.
//  * finish_epoch: a better validation accuracy than any before writes best.mien (the settings'
//    values, "epoch" and "val_accuracy" in its metadata) and best.npz (the same tensors for
//    NumPy); then the log row; then last.ckpt at the epoch's end. Every file is written with
//    write_file_atomically, so a kill at any moment leaves each file whole, and a resumed run
//    ends with the same bytes as an uninterrupted one (tests/reliability/kill_resume.sh).
//  * save(tr, epoch, batch): last.ckpt inside an epoch (Ctrl-C).
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "../io/checkpoint.hpp"
#include "../io/npz.hpp"
#include "../io/weights.hpp"
#include "checkpoint.hpp"
#include "epoch.hpp"
#include "evaluate.hpp"
#include "run_log.hpp"

namespace mien {

class run_folder {
public:
    // The columns of log.csv.
    static std::vector<std::string> log_columns() {
        return {"epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"};
    }

    // `checkpoint_extra`: metadata for last.ckpt only (not compared on resume, not in best.mien).
    run_folder(std::filesystem::path dir, run_settings settings, file_metadata checkpoint_extra = {})
        : dir_(std::move(dir)), settings_(std::move(settings)), extra_(std::move(checkpoint_extra)),
          log_(dir_ / "log.csv", log_columns()) {
        std::filesystem::create_directories(dir_);
    }

    std::filesystem::path checkpoint_path() const { return dir_ / "last.ckpt"; }
    std::filesystem::path best_path() const { return dir_ / "best.mien"; }
    std::filesystem::path npz_path() const { return dir_ / "best.npz"; }
    std::filesystem::path const& log_path() const { return log_.path(); }

    run_settings const& settings() const { return settings_; }
    run_position const& position() const { return at_; }
    double best_accuracy() const { return at_.best_accuracy; }
    bool resumed() const { return resumed_; }

    // Restores tr from the folder's checkpoint when `resume` and there is one; returns where the
    // run stands (epoch 0, batch 0 for a fresh run).
    template <checkpointable Trainer>
    run_position start(Trainer& tr, bool resume) {
        resumed_ = resume && std::filesystem::exists(checkpoint_path());
        at_ = resumed_ ? load_run_checkpoint(tr, checkpoint_path(), settings_) : run_position{};
        log_.start(at_.epoch);
        return at_;
    }

    // last.ckpt at batch `batch` of epoch `epoch` (0-based), with the best accuracy so far.
    template <checkpointable Trainer>
    void save(Trainer& tr, std::size_t epoch, std::size_t batch) {
        at_.epoch = epoch;
        at_.batch = batch;
        save_run_checkpoint(tr, checkpoint_path(), settings_, at_, extra_);
    }

    // After epoch `epoch` (0-based) trained to its end and validated: best weights if better,
    // the log row, the checkpoint. Returns whether the accuracy was the best so far.
    template <checkpointable Trainer>
    bool finish_epoch(Trainer& tr, std::size_t epoch, epoch_result const& trained, evaluation const& val, double seconds) {
        bool const improved = val.accuracy > at_.best_accuracy;
        if (improved) {
            at_.best_accuracy = val.accuracy;
            file_metadata meta = settings_.values;
            meta["epoch"] = std::to_string(epoch + 1);
            meta["val_accuracy"] = std::to_string(val.accuracy);
            save_weights(tr.network(), best_path(), meta);
            save_npz(tr.network(), npz_path());
        }
        log_.append(epoch + 1, {tr.optimizer().learning_rate(), trained.mean_loss, trained.accuracy, val.loss, val.accuracy, seconds});
        save(tr, epoch + 1, 0);
        return improved;
    }

private:
    std::filesystem::path dir_;
    run_settings settings_;
    file_metadata extra_;
    run_log log_;
    run_position at_;
    bool resumed_ = false;
};

}  // namespace mien
