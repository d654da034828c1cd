#pragma once
/// Small text helpers for messages built from untrusted bytes (HTTP bodies, plugin output).
#include <string>
#include <string_view>
#include <vector>

namespace medic {

/// Valid UTF-8 with control characters other than tab replaced; invalid bytes become U+FFFD.
std::string sanitizeUtf8(std::string_view bytes);
/// One line of valid UTF-8 that shows what the bytes were: control characters (C0, DEL,
/// C1) and invalid UTF-8 bytes become \xNN. For everything medic echoes from outside
/// (config values, plugin output, receivers' answers) into the journal, errors and alerts,
/// so that no input can forge a line or drive a terminal. Cut after `max` bytes with "...".
std::string escapeText(std::string_view bytes, size_t max = std::string::npos);
/// Printable ASCII only: nothing for escapeText() to do.
bool isPlainText(std::string_view bytes);
/// A short, printable excerpt of raw bytes: "HTTP/1.0 garb\x00..." (at most `max` chars).
std::string excerpt(std::string_view bytes, size_t max = 60);
std::string trim(std::string_view s);
/// "a", "a and b", "a, b and c".
std::string joinWords(const std::vector<std::string>& words);
/// "64 KiB", "10 MiB"
std::string formatBytes(size_t n);

}  // namespace medic

namespace medic {
/// Rows as aligned columns (two spaces apart; the last column is not padded). The first
/// row is the header.
std::string formatTable(const std::vector<std::vector<std::string>>& rows);
}  // namespace medic
