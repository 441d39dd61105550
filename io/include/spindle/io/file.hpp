// Files without blocking the loop: read_file(), write_file(), File.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <memory>
#include <string>
#include <string_view>

namespace spindle::io {

/// The whole file at `path`, read through the ring (io_uring) or on the loop's thread pool
/// (epoll); the task parks meanwhile.
/// Throws std::system_error naming the path (ENOENT, EACCES, ...); CancelledError.
/// aiofiles: open(path).read()
SPINDLE_API std::string read_file(const std::string& path);
/// Replaces the file at `path` with `data` (created with mode 0644 if missing), through
/// the ring or on the thread pool. Throws std::system_error naming the path; CancelledError (the write may
/// still complete on its thread).
SPINDLE_API void write_file(const std::string& path, std::string_view data);

namespace detail {
struct FileFd;
}

/// An open file. On io_uring every system call (openat, reads and writes at an offset, statx,
/// fsync, close) goes through the loop's ring, the task parked meanwhile; on epoll each runs
/// on the loop's thread pool. Owns its fd (close-on-exec): on the pool, a read or write still
/// running on its thread (its task cancelled) keeps the fd open until it is done, so the fd's
/// number is never reused under it, and the last user closes it. Open with O_DIRECT for
/// unbuffered I/O (then the span overloads' buffers, offsets and sizes must be multiples of
/// the device's logical block size, 4096 is safe). Use from one loop's tasks.
/// aiofiles: aiofiles.open()
class SPINDLE_API File {
 public:
  /// Opens `path` with open(2) flags (O_CLOEXEC is added) and mode. Throws
  /// std::system_error naming the path, CancelledError.
  File(const std::string& path, int flags, int mode = 0644,
       SourceLocation where = SourceLocation::current());
  File(File&& o) noexcept;
  /// Closes what this held (as close()), then takes o's file.
  File& operator=(File&& o) noexcept;
  ~File();

  /// Up to `n` bytes at `offset` (fewer at the end of the file). Throws std::system_error,
  /// std::logic_error if closed, CancelledError (on the pool the read finishes on its thread).
  std::string read_at(std::uint64_t offset, std::size_t n,
                      SourceLocation where = SourceLocation::current());
  /// Reads into `buf` at `offset` until it is full or the file ends; returns the bytes read.
  /// The buffer is the kernel's until this returns: on the pool, cancellation waits for the
  /// read (and is delivered at the next blocking call); on io_uring the read is cancelled and
  /// its completion awaited. Throws std::system_error, std::logic_error if closed,
  /// CancelledError (io_uring).
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> buf,
                      SourceLocation where = SourceLocation::current());
  /// Writes all of `data` at `offset`. Throws std::system_error, std::logic_error if closed,
  /// CancelledError (the write may still complete).
  void write_at(std::uint64_t offset, std::string_view data,
                SourceLocation where = SourceLocation::current());
  /// Writes all of `data` at `offset`, from the caller's buffer (not copied; see the span
  /// read_at for how cancellation waits). Throws as the string_view overload.
  void write_at(std::uint64_t offset, std::span<const std::byte> data,
                SourceLocation where = SourceLocation::current());
  /// Flushes the file to its device: fsync(2), or fdatasync(2) with `data_only`. Throws
  /// std::system_error, std::logic_error if closed, CancelledError.
  void sync(bool data_only = false, SourceLocation where = SourceLocation::current());
  /// The file's size in bytes (statx/fstat). Throws std::system_error, std::logic_error if
  /// closed, CancelledError.
  std::uint64_t size(SourceLocation where = SourceLocation::current()) const;
  /// Lets go of the file, parking while its fd is closed (cancellation held back); an fd a
  /// cancelled read or write still uses on the pool is closed when that finishes. Idempotent.
  void close() noexcept;
  /// The fd (-1 once closed).
  int fd() const noexcept;

 private:
  std::shared_ptr<detail::FileFd> f_;
};

}  // namespace spindle::io
