# tests/reliability: bad input, interruptions and a full disk, through the programs as a user
# runs them (docs/RELIABILITY.md, the bad-input table). Included from tests/CMakeLists.txt at
# the end of the top-level directory, once the example programs are defined. Labels: reliability, cli.
if(NOT (TARGET mien-train AND TARGET mien-eval AND TARGET mien-eval-fixture))
  message(STATUS "mien: no mien-train / mien-eval: the reliability tests are not built")
  return()
endif()

set(_rel ${PROJECT_BINARY_DIR}/reliability)
set(_fx ${_rel}/fixture)
set(_bad ${_rel}/bad)
set(_check ${PROJECT_SOURCE_DIR}/examples/cmake/check_cli.cmake)
set(_here ${CMAKE_CURRENT_LIST_DIR})

find_package(OpenCV QUIET COMPONENTS core imgcodecs videoio)
find_package(JPEG QUIET)  # for the CMYK JPEG only
add_executable(mien-bad-inputs ${_here}/make_bad_inputs.cpp)
target_link_libraries(mien-bad-inputs PRIVATE mien::mien mien_warnings ${OpenCV_LIBS})
target_include_directories(mien-bad-inputs SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
if(JPEG_FOUND)
  target_link_libraries(mien-bad-inputs PRIVATE JPEG::JPEG)
  target_compile_definitions(mien-bad-inputs PRIVATE MIEN_HAVE_LIBJPEG=1)
endif()

# The 21 faces and untrained fast weights of mien-eval-fixture, then the hostile inputs.
add_test(NAME reliability.fixture COMMAND mien-eval-fixture ${_fx})
add_test(NAME reliability.bad_inputs COMMAND mien-bad-inputs ${_bad} ${_fx}/fast.mien)
set_tests_properties(reliability.fixture PROPERTIES LABELS "reliability;cli" FIXTURES_SETUP mien_rel_fx)
set_tests_properties(reliability.bad_inputs PROPERTIES LABELS "reliability;cli" FIXTURES_SETUP mien_rel_bad
                     FIXTURES_REQUIRED mien_rel_fx)

# mien_reliability_test(name program CHECKS ... ARGS ...): `program ARGS` through check_cli.cmake.
function(mien_reliability_test name program)
  cmake_parse_arguments(PARSE_ARGV 2 _t "" "" "CHECKS;ARGS")
  list(JOIN _t_ARGS "|" _args)
  add_test(NAME reliability.${name}
    COMMAND ${CMAKE_COMMAND} ${_t_CHECKS} "-DCOMMAND=$<TARGET_FILE:${program}>|${_args}" -P ${_check})
  set_tests_properties(reliability.${name} PROPERTIES LABELS "reliability;cli" FIXTURES_REQUIRED "mien_rel_fx;mien_rel_bad")
endfunction()

set(_eval --weights ${_fx}/fast.mien --model fast --threads 1)
# Images that are not what their name says, or not 48x48 gray.
mien_reliability_test(zero_byte_image mien-eval ARGS ${_eval} --data ${_bad}/zero_byte
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=zero_byte/angry/empty.png is not a readable image")
mien_reliability_test(text_named_jpg mien-eval ARGS ${_eval} --data ${_bad}/text_jpg
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=text_jpg/angry/notes.jpg is not a readable image")
mien_reliability_test(png_16_bit mien-eval ARGS ${_eval} --data ${_bad}/png16 --json
  CHECKS -DEXPECT_JSON=ON)  # read as 8-bit gray: evaluated
if(JPEG_FOUND)
  mien_reliability_test(cmyk_jpeg mien-eval ARGS ${_eval} --data ${_bad}/cmyk --json
    CHECKS -DEXPECT_JSON=ON)  # libjpeg converts CMYK: evaluated
endif()
mien_reliability_test(huge_image mien-eval ARGS ${_eval} --data ${_bad}/huge
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=huge/angry/huge.png is 20000x20000, expected 48x48")
mien_reliability_test(empty_folder mien-eval ARGS ${_eval} --data ${_bad}/empty
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=no images found under .*empty")
mien_reliability_test(unknown_label_folder mien-eval ARGS ${_eval} --data ${_bad}/unknown_label
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=unknown label folder .*grumpy \\(expected angry, disgust")
# FER2013 CSV rows.
mien_reliability_test(csv_2303_pixels mien-eval ARGS ${_eval} --data ${_bad}/csv_2303.csv --split PublicTest
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=csv_2303.csv:3: 2303 pixels, expected 2304")
mien_reliability_test(csv_unknown_label mien-eval ARGS ${_eval} --data ${_bad}/csv_label9.csv --split PublicTest
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=csv_label9.csv:2: emotion '9' is not a label 0..6")
mien_reliability_test(csv_crlf mien-eval ARGS ${_eval} --data ${_bad}/csv_crlf.csv --split PublicTest --json
  CHECKS -DEXPECT_JSON=ON)
# Weights files.
mien_reliability_test(truncated_weights mien-eval ARGS --weights ${_bad}/truncated.mien --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=truncated.mien: truncated file: [0-9]+ of [0-9]+ bytes; it ends inside the data of tensor")
mien_reliability_test(bitflip_weights mien-eval ARGS --weights ${_bad}/bitflip.mien --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=bitflip.mien: checksum mismatch: stored 0x[0-9a-f]+, computed 0x[0-9a-f]+ \\(the file is corrupted\\)")
mien_reliability_test(empty_weights mien-eval ARGS --weights ${_bad}/empty.mien --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=empty.mien: truncated file: 0 bytes, the header alone needs 16")
mien_reliability_test(nan_weights mien-eval ARGS --weights ${_bad}/nan.mien --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=nan.mien: 00[.a-z_0-9]+: value 3 of [0-9]+ is NaN \\(a weights file must hold finite numbers\\)")
mien_reliability_test(other_topology mien-eval ARGS --weights ${PROJECT_SOURCE_DIR}/models/paper.mien --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=paper.mien: 00[.a-z_0-9]+: file shape \\([0-9,]+\\) != model shape \\([0-9,]+\\)")
mien_reliability_test(directory_as_weights mien-eval ARGS --weights ${_fx} --model fast --data ${_fx}/faces
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=load_weights: cannot read .*fixture")

# mien-train: bad numbers, another run's checkpoint, a disk that fills up, interruptions, NaN.
set(_train --data ${_fx} --train-split faces --val-split faces --model fast --batch 16 --threads 1)
mien_reliability_test(train_nan_rate mien-train ARGS ${_train} --lr nan --out ${_rel}/train_bad
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=--lr: expected a finite number in \\(0, 10\\], found nan")
mien_reliability_test(train_nan_dropout mien-train ARGS ${_train} --dropout nan --out ${_rel}/train_bad
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=--dropout: expected a finite number in \\[0, 0.95\\], found nan")
mien_reliability_test(train_huge_shift mien-train ARGS ${_train} --max-shift 1000000000 --out ${_rel}/train_bad
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=--max-shift: Value 1000000000 not in range 0 to 24")
mien_reliability_test(train_empty_folder mien-train ARGS --data ${_bad} --train-split empty --val-split empty --model fast --out ${_rel}/train_bad
  CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=no images found under .*empty")

if(TARGET mien-crossval)
  mien_reliability_test(crossval_nan_rate mien-crossval ARGS --data ${_fx}/ckplus --protocol loso --lr nan
    CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=--lr: expected a finite number in \\(0, 10\\], found nan")
endif()

add_test(NAME reliability.train_other_run
  COMMAND bash ${_here}/other_run.sh $<TARGET_FILE:mien-train> ${_fx} ${_rel}/other_run)
add_test(NAME reliability.train_disk_full
  COMMAND bash ${_here}/disk_full.sh $<TARGET_FILE:mien-train> ${_fx} ${_rel}/disk_full)
add_test(NAME reliability.train_kill_resume
  COMMAND bash ${_here}/kill_resume.sh $<TARGET_FILE:mien-train> ${_fx} ${_rel}/kill_resume)
set_tests_properties(reliability.train_other_run reliability.train_disk_full reliability.train_kill_resume
  PROPERTIES LABELS "reliability;cli" FIXTURES_REQUIRED mien_rel_fx TIMEOUT 600)
if(Python3_FOUND)
  add_test(NAME reliability.train_nan_loss
    COMMAND bash ${_here}/nan_loss.sh $<TARGET_FILE:mien-train> ${_fx} ${_rel}/nan_loss ${Python3_EXECUTABLE})
  set_tests_properties(reliability.train_nan_loss PROPERTIES LABELS "reliability;cli" FIXTURES_REQUIRED mien_rel_fx)
endif()

if(TARGET mien-detect)
  set(_detect --weights ${PROJECT_SOURCE_DIR}/models/paper.mien --json)
  mien_reliability_test(detect_truncated_video mien-detect ARGS ${_detect} --video ${_bad}/truncated.avi
    CHECKS "-DEXPECT_REGEX=truncated.avi: [0-9]+ frames")
  mien_reliability_test(detect_text_video mien-detect ARGS ${_detect} --video ${_bad}/text.avi
    CHECKS -DEXPECT_FAILURE=ON "-DEXPECT_REGEX=text.avi")
endif()
