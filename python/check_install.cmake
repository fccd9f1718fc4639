# python.install (CTest): `cmake --install <build> --component python` into a fresh prefix, then
# Debian's interpreter imports mien from there (not from the build tree) and predicts with the
# shipped weights installed beside it. Run as
#   cmake -DBUILD_DIR=... -DPREFIX=... -DPYTHON=... -DSITE=<dir under PREFIX> -P check_install.cmake
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --component python --prefix ${PREFIX}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install --component python failed (${rc})")
endif()
set(_check [=[
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import mien
assert mien.__file__.startswith(sys.argv[1]), mien.__file__
w = mien.default_weights()
assert w and w.startswith(sys.argv[1]), w
p = mien.Model(w).predict(np.full((2, 48, 48), 128, np.uint8))
assert p.shape == (2, 7) and abs(float(p.sum()) - 2) < 1e-4, p
print("installed mien imports from", mien.__file__)
]=])
execute_process(COMMAND ${PYTHON} -c "${_check}" ${PREFIX}/${SITE} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed package does not import or predict (${rc})")
endif()
