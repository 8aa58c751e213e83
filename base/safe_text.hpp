// The one boundary for text that comes from the kernel and from disks (model, serial, labels,
// partition names, backing file names, mount points): hostile input like socket bytes. Whatever
// leaves the process passes through here or through engine::json_text (JSON answers, events,
// state files), which applies the same rule: nothing throws on invalid UTF-8, bad bytes become
// U+FFFD, and each output format gets the escapes it needs.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mos {

// True when text is well-formed UTF-8 (no stray or truncated sequence, no overlong form, no
// surrogate, nothing beyond U+10FFFF).
bool is_valid_utf8(std::string_view text);

// text with every ill-formed byte sequence replaced by U+FFFD; well-formed text is unchanged.
std::string valid_utf8(std::string_view text);

// For a terminal, a log or an audit line: valid UTF-8 in which every control character (C0,
// DEL, C1) and the backslash are written as \xNN and \\, so a label can neither forge a line nor
// drive the terminal. At most max_bytes of input are kept ("..." marks a cut).
std::string printable_text(std::string_view text, size_t max_bytes = std::string_view::npos);

// A Prometheus label value (text format 0.0.4): valid UTF-8 with \\, \" and \n escaped.
std::string prometheus_label_value(std::string_view text);

}  // namespace mos
