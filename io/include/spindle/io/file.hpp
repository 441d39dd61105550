// Files without blocking the loop: read_file(), write_file(), File.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace spindle::io {

/// The whole file at `path`, read on the loop's thread pool (the task parks meanwhile).
/// Throws std::system_error naming the path (ENOENT, EACCES, ...); CancelledError.
/// aiofiles: open(path).read()
SPINDLE_API std::string read_file(const std::string& path);
/// Replaces the file at `path` with `data` (created with mode 0644 if missing), on the
/// thread pool. Throws std::system_error naming the path; CancelledError (the write may
/// still complete on its thread).
SPINDLE_API void write_file(const std::string& path, std::string_view data);

/// An open file whose reads and writes at an offset run on the loop's thread pool.
/// Owns its fd (close-on-exec), closed exactly once. Use from one loop's tasks.
class SPINDLE_API File {
 public:
  /// Opens `path` with open(2) flags (O_CLOEXEC is added) and mode. Throws
  /// std::system_error naming the path.
  File(const std::string& path, int flags, int mode = 0644);
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  ~File();

  /// Up to `n` bytes at `offset` (fewer at the end of the file). Throws std::system_error.
  std::string read_at(std::uint64_t offset, std::size_t n);
  /// Writes all of `data` at `offset`. Throws std::system_error.
  void write_at(std::uint64_t offset, std::string_view data);
  /// The file's size in bytes.
  std::uint64_t size() const;
  /// Closes the fd now; idempotent.
  void close() noexcept;
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace spindle::io
