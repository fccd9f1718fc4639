// python/src/module.cpp -- the compiled half of the Python package `mien` (python/mien/__init__.py
// is the other half): mien's networks and its recognizer, bound with pybind11.
//
//   _mien.Model(path, threads=0)        the presets (paper, fast, large), picked from the file
//   _mien.Recognizer(path, ...)         mien::recognizer (OpenCV builds only)
//
// Faces cross the boundary as NumPy arrays; the work runs with the GIL released. A Model keeps
// one network and one inference arena per worker thread (Net::predict over the shared, read-only
// parameters: the arena is all a prediction writes), and a mutex makes concurrent calls from
// several Python threads take turns instead of racing on those arenas. mien::error becomes
// mien.Error (a RuntimeError) carrying mien's message unchanged.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <mien/core/error.hpp>
#include <mien/models/labels.hpp>
#include <mien/io/fingerprint.hpp>
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>

#if defined(MIEN_PYTHON_OPENCV)
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <mien/vision/recognizer.hpp>
#endif

namespace py = pybind11;

namespace {

constexpr std::size_t side = 48;
constexpr std::size_t pixels = side * side;

// The faces of a predict() call as float32 in [0, 1] (uint8 divided by 255), N x 2304, and N.
struct face_batch {
    std::vector<float> values;
    std::size_t count = 0;
};

// Accepts (48, 48), (N, 48, 48), (48, 48, 1) and (N, 48, 48, 1), uint8 or floating point.
face_batch faces_from(py::array const& faces) {
    std::vector<std::size_t> shape(faces.shape(), faces.shape() + faces.ndim());
    if (shape.size() >= 3 && shape.back() == 1 && shape[shape.size() - 2] == side) shape.pop_back();
    bool const single = shape.size() == 2;
    if (!(shape.size() == 2 || shape.size() == 3) || shape[shape.size() - 1] != side || shape[shape.size() - 2] != side) {
        std::string found = "(";
        for (py::ssize_t i = 0; i < faces.ndim(); ++i) found += (i ? ", " : "") + std::to_string(faces.shape(i));
        found += faces.ndim() == 1 ? ",)" : ")";
        throw py::value_error("predict: expected faces of shape (48, 48) or (N, 48, 48) (a trailing 1 allowed), found " + found);
    }
    face_batch b;
    b.count = single ? 1 : shape[0];
    b.values.resize(b.count * pixels);
    if (py::isinstance<py::array_t<std::uint8_t>>(faces)) {
        auto const u8 = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(faces);
        std::uint8_t const* p = u8.data();
        for (std::size_t i = 0; i < b.values.size(); ++i) b.values[i] = float(p[i]) / 255.0f;  // as the training data
    } else if (faces.dtype().kind() == 'f') {
        auto const f32 = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(faces);
        std::memcpy(b.values.data(), f32.data(), b.values.size() * sizeof(float));
    } else {
        throw py::type_error("predict: expected uint8 (0-255) or floating-point (0-1) faces, found dtype " +
                             std::string(py::str(faces.dtype())));
    }
    return b;
}

// The type-erased side of Model: one preset behind virtual calls, so Python sees one class.
class model_base {
public:
    virtual ~model_base() = default;
    virtual std::string preset() const = 0;
    virtual std::size_t classes() const = 0;
    virtual std::vector<std::string> const& labels() const = 0;
    virtual std::size_t macs() const = 0;
    virtual std::size_t params() const = 0;
    virtual std::size_t inference_bytes() const = 0;
    // probabilities: count x classes(); runs on up to `threads` threads, the GIL released.
    virtual void predict(float const* faces, std::size_t count, float* probabilities, std::size_t threads) = 0;
};

template <class Net>
class model_impl final : public model_base {
public:
    model_impl(std::string name, std::span<std::byte const> bytes, std::string const& source)
        : name_(std::move(name)) {
        net_ = std::make_unique<Net>();
        labels_ = mien::decode_weights(*net_, bytes, source.c_str()).labels;
    }
    std::string preset() const override { return name_; }
    std::size_t classes() const override { return Net::outputs; }
    std::vector<std::string> const& labels() const override { return labels_; }
    std::size_t macs() const override { return Net::macs; }
    std::size_t params() const override { return Net::params; }
    std::size_t inference_bytes() const override { return Net::inference_bytes; }

    void predict(float const* faces, std::size_t count, float* out, std::size_t threads) override {
        std::lock_guard<std::mutex> lock(mutex_);
        // Starting a thread costs tens of microseconds, a face 0.1 to 0.3 ms: give each at least 4 faces.
        threads = std::max<std::size_t>(1, std::min(threads, count / 4));
        while (arenas_.size() < threads) arenas_.push_back(std::make_unique<arena>());
        Net const& net = *net_;
        auto work = [&](std::size_t t, std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                auto const p = Net::predict(net.parameters(), net.state(),
                                            std::span<float const, Net::inputs>(faces + i * Net::inputs, Net::inputs),
                                            arenas_[t]->bytes);
                std::copy(p.begin(), p.end(), out + i * Net::outputs);
            }
        };
        if (threads == 1) return work(0, 0, count);
        std::vector<std::thread> team;
        std::vector<std::exception_ptr> errors(threads);
        for (std::size_t t = 0; t < threads; ++t)
            team.emplace_back([&, t] {
                try {
                    work(t, count * t / threads, count * (t + 1) / threads);
                } catch (...) {
                    errors[t] = std::current_exception();
                }
            });
        for (auto& th : team) th.join();
        for (auto const& e : errors)
            if (e) std::rethrow_exception(e);
    }

private:
    std::string name_;
    std::vector<std::string> labels_;  // as the file names its outputs, else the default for 7 or 8
    std::mutex mutex_;
    std::unique_ptr<Net> net_;
    struct arena {
        alignas(64) std::array<std::byte, Net::inference_bytes> bytes;  // 64: the alignment network.hpp advises
    };
    std::vector<std::unique_ptr<arena>> arenas_;  // arenas_[t] serves worker t
};

// The networks the module knows: the paper network and its fast and large presets, each with 7
// outputs (FER2013's classes) or 8 (FER+'s, mien-train --labels ferplus).
using paper7 = mien::models::paper<>;
using fast7 = mien::models::fast;
using large7 = mien::models::large;
using paper8 = mien::models::paper<32, 64, 128, 64, 128, 8>;
using fast8 = mien::models::paper<16, 32, 64, 32, 64, 8>;
using large8 = mien::models::paper<64, 128, 256, 128, 256, 8>;
enum class preset_id { paper7, fast7, large7, paper8, fast8, large8 };

// Calls f.template operator()<Net>(name) for the network of `id`.
template <class F>
decltype(auto) with_preset(preset_id id, F&& f) {
    switch (id) {
    case preset_id::paper7: return f.template operator()<paper7>("paper");
    case preset_id::fast7: return f.template operator()<fast7>("fast");
    case preset_id::large7: return f.template operator()<large7>("large");
    case preset_id::paper8: return f.template operator()<paper8>("paper");
    case preset_id::fast8: return f.template operator()<fast8>("fast");
    case preset_id::large8: break;
    }
    return f.template operator()<large8>("large");
}

// The preset a .mien file holds: by its topology fingerprint (v2, or v1 for older files), else the
// first whose tensor shapes match (load_weights' default policy), else an error quoting every
// preset's reason.
preset_id preset_of(std::span<std::byte const> bytes, std::string const& path) {
    constexpr preset_id all[] = {preset_id::paper7, preset_id::fast7, preset_id::large7,
                                 preset_id::paper8, preset_id::fast8, preset_id::large8};
    auto const file = mien::detail::parse_file(bytes, path.c_str());
    for (preset_id id : all)
        if (with_preset(id, [&]<class Net>(char const*) {
                return file.fingerprint == mien::topology_fingerprint<Net> ||
                       file.fingerprint == mien::legacy_topology_fingerprint_v1<Net>;  // files written before v2
            }))
            return id;
    std::string reasons;
    for (preset_id id : all) {
        bool const fits = with_preset(id, [&]<class Net>(char const* name) {
            try {
                auto net = std::make_unique<Net>();
                mien::decode_weights(*net, bytes, path.c_str());
                return true;
            } catch (mien::error const& e) {
                reasons += "\n  " + std::string(name) + " (" + std::to_string(Net::outputs) + " classes): " + e.what();
                return false;
            }
        });
        if (fits) return id;
    }
    mien::fail("%s: not a network mien's Python module knows (paper, fast or large, 7 or 8 classes):%s", path.c_str(), reasons.c_str());
}

std::unique_ptr<model_base> open_model(std::string const& path) {
    auto const bytes = mien::detail::read_file(path, "mien.Model");
    return with_preset(preset_of(bytes, path), [&]<class Net>(char const* name) -> std::unique_ptr<model_base> {
        return std::make_unique<model_impl<Net>>(name, bytes, path);
    });
}

class model {
public:
    explicit model(std::string const& path, std::size_t threads) : impl_(open_model(path)), path_(path) {
        set_threads(threads);
    }

    py::array_t<float> predict(py::array const& faces) {
        face_batch const b = faces_from(faces);
        py::array_t<float> out({py::ssize_t(b.count), py::ssize_t(impl_->classes())});
        float* o = out.mutable_data();
        {
            py::gil_scoped_release released;
            impl_->predict(b.values.data(), b.count, o, threads_);
        }
        return out;
    }

    std::size_t threads() const { return threads_; }
    void set_threads(std::size_t t) {
        threads_ = t > 0 ? t : std::max(1u, std::thread::hardware_concurrency());
    }
    model_base const& impl() const { return *impl_; }
    std::string const& path() const { return path_; }

private:
    std::unique_ptr<model_base> impl_;
    std::string path_;
    std::size_t threads_ = 1;
};

#if defined(MIEN_PYTHON_OPENCV)
// The face's probabilities under the model's class names (mien.labels), in output order.
void add_probabilities(py::dict& d, mien::recognized_face const& f) {
    for (std::size_t k = 0; k < f.classes; ++k) d[py::str(std::string(f.class_name(k)))] = double(f.probabilities[k]);
}

// One face as a Python dict in the shape `fer` users know: {"box": [x, y, w, h], "emotions": {...}}.
py::dict face_dict(mien::recognized_face const& f) {
    py::dict emotions;
    add_probabilities(emotions, f);
    py::dict d;
    d["box"] = std::vector<int>{f.box.x, f.box.y, f.box.width, f.box.height};
    d["emotions"] = emotions;
    return d;
}

// An 8-bit image array (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA as a cv::Mat that
// shares its memory (C order required; the array must outlive the Mat).
cv::Mat mat_from(py::array_t<std::uint8_t, py::array::c_style> const& frame) {
    if (frame.ndim() == 2) return cv::Mat(int(frame.shape(0)), int(frame.shape(1)), CV_8UC1, const_cast<std::uint8_t*>(frame.data()));
    if (frame.ndim() == 3 && (frame.shape(2) == 1 || frame.shape(2) == 3 || frame.shape(2) == 4))
        return cv::Mat(int(frame.shape(0)), int(frame.shape(1)), CV_8UC(int(frame.shape(2))), const_cast<std::uint8_t*>(frame.data()));
    std::string found = "(";
    for (py::ssize_t i = 0; i < frame.ndim(); ++i) found += (i ? ", " : "") + std::to_string(frame.shape(i));
    throw py::value_error("detect_emotions: expected an 8-bit image of shape (H, W), (H, W, 3) BGR or (H, W, 4) BGRA, found " +
                          found + ")");
}

class recognizer_base {
public:
    virtual ~recognizer_base() = default;
    virtual std::vector<mien::recognized_face> recognize(cv::Mat const& frame) = 0;
    virtual mien::recognizer_timings timings() const = 0;
    virtual std::vector<std::string> const& labels() const = 0;
};

template <class Net>
class recognizer_impl final : public recognizer_base {
public:
    recognizer_impl(std::span<std::byte const> bytes, std::string const& source, mien::recognizer_options o)
        : rec_(make_net(bytes, source), std::move(o)) {}
    std::vector<mien::recognized_face> recognize(cv::Mat const& frame) override { return rec_.recognize(frame); }
    mien::recognizer_timings timings() const override { return rec_.timings(); }
    std::vector<std::string> const& labels() const override { return rec_.labels(); }

private:
    static std::unique_ptr<Net> make_net(std::span<std::byte const> bytes, std::string const& source) {
        auto net = std::make_unique<Net>();
        mien::decode_weights(*net, bytes, source.c_str());
        return net;
    }
    mien::recognizer<Net> rec_;
};

class recognizer {
public:
    recognizer(std::string const& weights, std::string const& cascade, std::size_t max_faces, py::object margin,
               py::object offset, int min_neighbors, double min_face_fraction) {
        mien::recognizer_options o;
        o.detector.cascade = cascade;
        o.max_faces = max_faces;
        if (!margin.is_none()) o.crop.margin = margin.cast<double>();
        if (!offset.is_none()) o.crop.offset = offset.cast<double>();
        if (min_neighbors > 0) o.detector.min_neighbors = min_neighbors;
        if (min_face_fraction > 0) o.detector.min_face_fraction = min_face_fraction;
        auto const bytes = mien::detail::read_file(weights, "mien.Recognizer");
        // Any preset the module knows, 7 or 8 classes: the faces carry the file's class names.
        with_preset(preset_of(bytes, weights), [&]<class Net>(char const* name) {
            preset_ = name;
            impl_ = std::make_unique<recognizer_impl<Net>>(bytes, weights, o);
        });
    }

    py::list detect_emotions(py::array_t<std::uint8_t, py::array::c_style> const& frame) {
        cv::Mat const m = mat_from(frame);
        std::vector<mien::recognized_face> faces;
        {
            py::gil_scoped_release released;
            std::lock_guard<std::mutex> lock(mutex_);
            faces = impl_->recognize(m);
        }
        py::list out;
        for (auto const& f : faces) out.append(face_dict(f));
        return out;
    }

    // Every `every`-th frame of a video: per face one record (frame, time, box, probabilities,
    // top emotion). progress(done, total) is called after each frame read (with the GIL).
    py::list analyze_video(std::string const& path, std::size_t every, std::size_t max_frames, py::object progress) {
        if (every == 0) throw py::value_error("analyze_video: every must be at least 1");
        cv::VideoCapture video;
        {
            py::gil_scoped_release released;
            video.open(path);
        }
        if (!video.isOpened()) mien::fail("analyze_video: %s: OpenCV cannot open the video", path.c_str());
        double const fps = video.get(cv::CAP_PROP_FPS);
        auto const total = std::size_t(std::max(0.0, video.get(cv::CAP_PROP_FRAME_COUNT)));
        py::list records;
        cv::Mat frame;
        for (std::size_t index = 0; max_frames == 0 || index < max_frames; ++index) {
            std::vector<mien::recognized_face> faces;
            bool analysed = false;
            {
                py::gil_scoped_release released;
                if (!video.read(frame) || frame.empty()) break;
                if (index % every == 0) {
                    std::lock_guard<std::mutex> lock(mutex_);
                    faces = impl_->recognize(frame);
                    analysed = true;
                }
            }
            for (std::size_t j = 0; analysed && j < faces.size(); ++j) {
                auto const& f = faces[j];
                py::dict r;
                r["frame"] = index;
                r["time"] = fps > 0 ? double(index) / fps : 0.0;
                r["face"] = j;
                r["x"] = f.box.x;
                r["y"] = f.box.y;
                r["w"] = f.box.width;
                r["h"] = f.box.height;
                add_probabilities(r, f);
                r["top_emotion"] = std::string(f.name());
                r["score"] = double(f.confidence());
                records.append(std::move(r));
            }
            if (!progress.is_none()) progress(index + 1, max_frames > 0 && (total == 0 || max_frames < total) ? max_frames : total);
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C stops a long video
        }
        return records;
    }

    py::dict timings() const {
        auto const t = impl_->timings();
        py::dict d;
        d["gray_ms"] = t.gray_ms;
        d["detection_ms"] = t.detection_ms;
        d["preprocessing_ms"] = t.preprocessing_ms;
        d["recognition_ms"] = t.recognition_ms;
        d["faces"] = t.faces;
        return d;
    }
    std::string const& preset() const { return preset_; }
    std::vector<std::string> const& labels() const { return impl_->labels(); }

private:
    std::unique_ptr<recognizer_base> impl_;
    std::string preset_;
    std::mutex mutex_;
};
#endif

}  // namespace

PYBIND11_MODULE(_mien, m) {
    m.doc() = "mien's networks and recognizer (the compiled half of the package mien)";
    py::register_exception<mien::error>(m, "Error", PyExc_RuntimeError);

    py::class_<model>(m, "Model", "A mien network loaded from a .mien file (paper, fast or large, 7 or 8 classes).")
        .def(py::init<std::string const&, std::size_t>(), py::arg("path"), py::arg("threads") = 0,
             "Loads the weights; threads: workers for predict (0: one per core).")
        .def("predict", &model::predict, py::arg("faces"),
             "Probabilities (N, K) for faces (48, 48) or (N, 48, 48) [a trailing 1 allowed]: uint8 (divided by "
             "255) or float in [0, 1]. Runs on up to `threads` threads with the GIL released.")
        .def_property("threads", &model::threads, &model::set_threads)
        .def_property_readonly("preset", [](model const& s) { return s.impl().preset(); })
        .def_property_readonly("labels", [](model const& s) { return s.impl().labels(); })
        .def_property_readonly("macs", [](model const& s) { return s.impl().macs(); })
        .def_property_readonly("params", [](model const& s) { return s.impl().params(); })
        .def_property_readonly("inference_bytes", [](model const& s) { return s.impl().inference_bytes(); })
        .def_property_readonly("path", &model::path);

#if defined(MIEN_PYTHON_OPENCV)
    m.attr("has_opencv") = true;
    py::class_<recognizer>(m, "Recognizer")
        .def(py::init<std::string const&, std::string const&, std::size_t, py::object, py::object, int, double>(),
             py::arg("weights"), py::arg("cascade") = "", py::arg("max_faces") = 8, py::arg("margin") = py::none(),
             py::arg("offset") = py::none(), py::arg("min_neighbors") = 0, py::arg("min_face_fraction") = 0.0)
        .def("detect_emotions", &recognizer::detect_emotions, py::arg("frame"),
             "[{'box': [x, y, w, h], 'emotions': {name: p}}] for an 8-bit gray, BGR or BGRA frame, largest face first.")
        .def("analyze_video", &recognizer::analyze_video, py::arg("path"), py::arg("every") = 1,
             py::arg("max_frames") = 0, py::arg("progress") = py::none(),
             "One dict per analysed frame and face; progress(done, total) after each frame read.")
        .def_property_readonly("timings", &recognizer::timings)
        .def_property_readonly("preset", &recognizer::preset)
        .def_property_readonly("labels", &recognizer::labels);
#else
    m.attr("has_opencv") = false;
#endif
}
