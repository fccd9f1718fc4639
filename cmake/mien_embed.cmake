# mien_embed_weights(<header> MODEL paper|fast WEIGHTS <file.mien> [NAMESPACE <name>] [COMMAND <program>])
#
# Generates <header> at build time with `mien-embed`: the .mien file's parameters and running
# statistics as constant arrays in namespace <name> (default <model>_weights), for firmware
# that predicts from flash (include/mien/io/embed.hpp, docs/EMBEDDED.md). The header is
# regenerated when the weights file or mien-embed changes; list it among a target's sources, or
# depend on it, to have it made. A file of another topology fails the build with the first
# differing tensor and both shapes.
#
# COMMAND is the mien-embed to run: a target name (the default, `mien-embed`, built by this
# project's examples) or a path, e.g. a host-built mien-embed when cross-compiling.
#
#   include(cmake/mien_embed.cmake)
#   mien_embed_weights(${CMAKE_CURRENT_BINARY_DIR}/fast_weights.hpp MODEL fast WEIGHTS ${PROJECT_SOURCE_DIR}/models/fast.mien)
function(mien_embed_weights header)
  cmake_parse_arguments(PARSE_ARGV 1 _e "" "MODEL;WEIGHTS;NAMESPACE;COMMAND" "")
  if(NOT _e_MODEL MATCHES "^(paper|fast)$")
    message(FATAL_ERROR "mien_embed_weights: MODEL must be paper or fast (found '${_e_MODEL}')")
  endif()
  if(NOT _e_WEIGHTS)
    message(FATAL_ERROR "mien_embed_weights: WEIGHTS <file.mien> is required")
  endif()
  if(NOT _e_NAMESPACE)
    set(_e_NAMESPACE ${_e_MODEL}_weights)
  endif()
  if(NOT _e_COMMAND)
    set(_e_COMMAND mien-embed)
  endif()
  set(_depends ${_e_WEIGHTS})
  if(TARGET ${_e_COMMAND})
    list(APPEND _depends ${_e_COMMAND})
    set(_e_COMMAND $<TARGET_FILE:${_e_COMMAND}>)
  endif()
  get_filename_component(_dir ${header} DIRECTORY)
  file(MAKE_DIRECTORY ${_dir})
  add_custom_command(OUTPUT ${header}
    COMMAND ${_e_COMMAND} --model ${_e_MODEL} --weights ${_e_WEIGHTS} --output ${header} --namespace ${_e_NAMESPACE}
    DEPENDS ${_depends}
    COMMENT "mien-embed: ${_e_WEIGHTS} -> ${header}"
    VERBATIM)
endfunction()
