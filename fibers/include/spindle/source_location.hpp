// SourceLocation: where a blocking call was made.
#pragma once

namespace spindle {

namespace detail {
struct DebugLayoutAccess;  // gdb's layout (debug_layout.cpp) reads where the fields are
}

/// The file and line of a call, captured by the default argument `SourceLocation::current()`
/// of every blocking call and shown in deadlock reports and task dumps. Like
/// std::source_location (which clang 14 with libstdc++ lacks), but one type on every compiler
/// keeps the library's ABI the same, and at 16 bytes it travels in two registers, which
/// matters on the switch path. The blocking call names itself separately.
class SourceLocation {
 public:
  /// The location of the call site when used as a default argument.
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE()) noexcept {
    SourceLocation l;
    l.file_ = file;
    l.line_ = line;
    return l;
  }
  constexpr SourceLocation() noexcept = default;

  /// The source file, or "" if unknown.
  constexpr const char* file_name() const noexcept { return file_; }
  /// The line, or 0 if unknown.
  constexpr unsigned line() const noexcept { return line_; }

 private:
  friend struct detail::DebugLayoutAccess;
  const char* file_ = "";
  unsigned line_ = 0;
};

}  // namespace spindle
