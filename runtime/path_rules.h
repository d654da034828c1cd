#pragma once
/// Rules for paths medic may delete or overwrite. A recovery step never touches a path it
/// was not given, and what it was given must be specific: absolute, canonical (no "..",
/// no symlink anywhere along it), and never "/" or a top-level or system directory.
/// Checked at validation and again right before acting.
#include <optional>
#include <string>
#include <vector>

#include "runtime/map_reader.h"

namespace medic {

/// nullopt when `path` is absolute and written canonically (no ".", "..", "//", trailing "/").
std::optional<std::string> checkAbsolutePath(const std::string& path);

/// nullopt when medic may delete inside `path` or replace it; otherwise why not.
std::optional<std::string> checkDestructivePath(const std::string& path);

/// As checkDestructivePath for the fixed directory part of a glob ("/run/app/*.tmp" -> "/run/app").
std::optional<std::string> checkDestructiveGlob(const std::string& glob);

/// Whether `path` is `dir` or lies below it (both canonical, as checkAbsolutePath wants them).
bool pathWithin(const std::string& path, const std::string& dir);

/// Reports, on `key` of the reader, every path (or glob) medic may not delete or replace.
void refuseDestructivePaths(MapReader& r, const std::string& key, const std::vector<std::string>& paths, bool globs);

}  // namespace medic
