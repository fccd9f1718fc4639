# examples/embedded/memory_report.cmake -- a firmware's RAM and flash: the compile-time budget
# beside what the linker placed.
#
#   cmake -DELF=firmware-fast.elf -DSIZE=arm-none-eabi-size -DNM=arm-none-eabi-nm [-DCHECK=ON] -P memory_report.cmake
#
# The budget comes from absolute symbols the firmware defines from compile-time constants
# (mien_budget_arena = Net::inference_bytes, mien_budget_weights = (params + state) * 4,
# mien_budget_faces) and from the linker script's STACK_SIZE; the linked sizes from
# `arm-none-eabi-size -A` (sections of mps2_an500.ld). With CHECK=ON each budgeted item, and
# the RAM total, must be within 5 % of its section, else the script fails.
cmake_minimum_required(VERSION 3.21)
foreach(_var ELF SIZE NM)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "memory_report.cmake: -D${_var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${NM} ${ELF} OUTPUT_VARIABLE _symbols COMMAND_ERROR_IS_FATAL ANY)
foreach(_name mien_budget_arena mien_budget_weights mien_budget_faces STACK_SIZE)
  if(NOT _symbols MATCHES "([0-9a-f]+) [aA] ${_name}\n")
    message(FATAL_ERROR "memory_report: ${ELF} defines no absolute symbol ${_name}")
  endif()
  math(EXPR _budget_${_name} "0x${CMAKE_MATCH_1}")
endforeach()

execute_process(COMMAND ${SIZE} -A ${ELF} OUTPUT_VARIABLE _sections COMMAND_ERROR_IS_FATAL ANY)
set(_flash_sections .vectors .text .ARM.extab .ARM.exidx .init_array .weights .faces .rodata .data)
foreach(_section ${_flash_sections} .bss .stack)
  set(_size${_section} 0)
  if(_sections MATCHES "\n${_section} +([0-9]+) ")
    set(_size${_section} ${CMAKE_MATCH_1})
  endif()
endforeach()

math(EXPR _ram_budget "${_budget_mien_budget_arena} + ${_budget_STACK_SIZE}")
math(EXPR _ram_linked "${_size.data} + ${_size.bss} + ${_size.stack}")
set(_flash_linked 0)
foreach(_section ${_flash_sections})  # .data's initial values are stored in flash
  math(EXPR _flash_linked "${_flash_linked} + ${_size${_section}}")
endforeach()
math(EXPR _code "${_size.vectors} + ${_size.text} + ${_size.ARM.extab} + ${_size.ARM.exidx} + ${_size.init_array}")

set(_report "memory report of ${ELF} (budget: compile-time constants; linked: arm-none-eabi-size -A)\n")
set(_failures "")
# pad(text width LEFT|RIGHT out): text aligned in a column of at least `width` characters.
function(pad text width side out)
  string(LENGTH "${text}" _n)
  set(_spaces "")
  if(_n LESS width)
    math(EXPR _pad "${width} - ${_n}")
    string(REPEAT " " ${_pad} _spaces)
  endif()
  if(side STREQUAL "LEFT")
    set(${out} "${text}${_spaces}" PARENT_SCOPE)
  else()
    set(${out} "${_spaces}${text}" PARENT_SCOPE)
  endif()
endfunction()

# row(label budget linked [checked]): one line; a checked row must agree within 5 %.
function(row label budget linked)
  set(_delta "")
  if(NOT budget STREQUAL "-" AND budget GREATER 0)
    # Tenths of a per cent, in integer arithmetic.
    math(EXPR _permille "(1000 * (${linked} - ${budget})) / ${budget}")
    set(_abs ${_permille})
    set(_sign "+")
    if(_permille LESS 0)
      math(EXPR _abs "-1 * ${_permille}")
      set(_sign "-")
    endif()
    math(EXPR _whole "${_abs} / 10")
    math(EXPR _tenth "${_abs} % 10")
    set(_delta "${_sign}${_whole}.${_tenth} %")
    if(ARGN AND _abs GREATER 50)
      set(_failures "${_failures}  ${label}: linked ${linked} B is not within 5 % of the budget ${budget} B\n" PARENT_SCOPE)
    endif()
  endif()
  pad("  ${label}" 46 LEFT _line)
  foreach(_value ${budget} ${linked})
    pad("${_value}" 10 RIGHT _cell)
    string(APPEND _line "${_cell}")
  endforeach()
  set(_report "${_report}${_line}   ${_delta}\n" PARENT_SCOPE)
endfunction()

pad("  RAM" 46 LEFT _head)
string(APPEND _report "${_head}    budget    linked\n")
row("arena (in .bss)" ${_budget_mien_budget_arena} ${_size.bss} checked)
row("stack (.stack)" ${_budget_STACK_SIZE} ${_size.stack} checked)
row(".data" - ${_size.data})
row("RAM total" ${_ram_budget} ${_ram_linked} checked)
string(APPEND _report "  flash\n")
row("weights (.weights)" ${_budget_mien_budget_weights} ${_size.weights} checked)
row("faces (.faces)" ${_budget_mien_budget_faces} ${_size.faces} checked)
row("code (.vectors .text .ARM.* .init_array)" - ${_code})
row("other constants (.rodata)" - ${_size.rodata})
row(".data initial values" - ${_size.data})
row("flash total" - ${_flash_linked})
message("${_report}")

if(CHECK AND _failures)
  message(FATAL_ERROR "memory report: budget and linked sizes differ:\n${_failures}")
endif()
