// examples/embedded/line.hpp -- a fixed-size text line, formatted without the C library.
//
// The firmware and its host reference print the same lines through this one class, so the
// test can compare their outputs as text. Floats are printed as their IEEE 754 bit patterns
// in hex: the comparison on the host is then exact, and no float formatting code (which
// drags in newlib's stdio and malloc) is linked into the firmware.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace embedded {

class line {
public:
    line& operator<<(std::string_view text) {
        for (char c : text) put(c);
        return *this;
    }
    line& operator<<(char const* text) { return *this << std::string_view(text); }
    // Any unsigned integer, in decimal (one template: size_t is unsigned int on arm-none-eabi
    // but unsigned long on x86-64, and uint32_t the other way round on ARM).
    template <class U>
        requires std::is_unsigned_v<U>
    line& operator<<(U value) {
        char digits[20];
        std::size_t n = 0;
        do digits[n++] = char('0' + value % 10);
        while ((value /= 10) != 0);
        while (n > 0) put(digits[--n]);
        return *this;
    }
    // Exactly 8 hex digits: the bits of a float, or any 32-bit word.
    line& hex(std::uint32_t value) {
        for (int shift = 28; shift >= 0; shift -= 4) put("0123456789abcdef"[(value >> shift) & 0xfu]);
        return *this;
    }
    line& bits(float value) { return hex(std::bit_cast<std::uint32_t>(value)); }

    // The text so far, NUL-terminated (truncated, never overrun, if the line is too long).
    char const* c_str() {
        text_[size_] = '\0';
        return text_;
    }
    void clear() { size_ = 0; }

private:
    void put(char c) {
        if (size_ + 1 < sizeof text_) text_[size_++] = c;
    }
    char text_[256];
    std::size_t size_ = 0;
};

}  // namespace embedded
