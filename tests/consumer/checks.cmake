# Shared by the consumer projects: what a user linking mien::mien must (not) get.
get_target_property(_options mien::mien INTERFACE_COMPILE_OPTIONS)
if(_options MATCHES "march")
  message(FATAL_ERROR "mien::mien forces ${_options} on its users")
endif()
get_target_property(_links mien::mien INTERFACE_LINK_LIBRARIES)
if(_links MATCHES "opencv|OpenCV")
  message(FATAL_ERROR "mien::mien depends on OpenCV: ${_links}")
endif()

add_executable(consumer ${CMAKE_CURRENT_LIST_DIR}/consumer.cpp)
target_link_libraries(consumer PRIVATE mien::mien)
target_compile_options(consumer PRIVATE -Wall -Wextra -Wpedantic -Werror)
