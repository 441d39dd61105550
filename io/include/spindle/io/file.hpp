// Files without blocking the loop: read_file(), write_file(), File.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>

#include <cstdint>
#include <memory>
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

namespace detail {
struct FileFd;
}

/// An open file whose every system call (open, reads and writes at an offset, fstat, close)
/// runs on the loop's thread pool when used from a task, the task parked meanwhile. Owns its
/// fd (close-on-exec): a read or write still running on its thread (its task cancelled) keeps
/// the fd open until it is done, so the fd's number is never reused under it, and the last
/// user closes it. Use from one loop's tasks. aiofiles: aiofiles.open()
class SPINDLE_API File {
 public:
  /// Opens `path` with open(2) flags (O_CLOEXEC is added) and mode. Throws
  /// std::system_error naming the path, CancelledError.
  File(const std::string& path, int flags, int mode = 0644);
  File(File&& o) noexcept;
  /// Closes what this held (as close()), then takes o's file.
  File& operator=(File&& o) noexcept;
  ~File();

  /// Up to `n` bytes at `offset` (fewer at the end of the file). Throws std::system_error,
  /// std::logic_error if closed, CancelledError (the read finishes on its thread).
  std::string read_at(std::uint64_t offset, std::size_t n);
  /// Writes all of `data` at `offset`. Throws std::system_error, std::logic_error if closed,
  /// CancelledError (the write may still complete on its thread).
  void write_at(std::uint64_t offset, std::string_view data);
  /// The file's size in bytes (fstat). Throws std::system_error, std::logic_error if closed,
  /// CancelledError.
  std::uint64_t size() const;
  /// Lets go of the file, parking while its fd is closed (cancellation held back); an fd a
  /// cancelled read or write still uses is closed when that finishes. Idempotent.
  void close() noexcept;
  /// The fd (-1 once closed).
  int fd() const noexcept;

 private:
  std::shared_ptr<detail::FileFd> f_;
};

}  // namespace spindle::io
