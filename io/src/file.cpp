// Files and pipes. Regular files cannot be polled, so their I/O runs on the loop's thread
// pool (io_uring later); pipes poll like sockets and become Streams.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <spindle/io/file.hpp>
#include <spindle/io/pipe.hpp>
#include <spindle/thread.hpp>
#include <system_error>

#include "syscall.hpp"

namespace spindle::io {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  detail::throw_errno(errno, what + " " + path);
}

// Writes all of data to fd: at *offset with pwrite, or with write() where it stands when
// offset is null (pipes and FIFOs cannot pwrite). Throws std::system_error naming what and path.
void write_all(int fd, std::string_view data, const std::uint64_t* offset, const char* what,
               const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t r = detail::retry_eintr([&] {
      const char* p = data.data() + done;
      const std::size_t n = data.size() - done;
      return offset ? ::pwrite(fd, p, n, static_cast<off_t>(*offset + done)) : ::write(fd, p, n);
    });
    if (r < 0) fail(what, path);
    done += static_cast<std::size_t>(r);
  }
}

}  // namespace

std::pair<Stream, Stream> pipe() {
  detail::ignore_sigpipe();
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) detail::throw_errno("pipe2");
  Socket r, w;
  try {
    r = Socket::adopt(fds[0]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  try {
    w = Socket::adopt(fds[1]);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  return {Stream(std::move(r)), Stream(std::move(w))};
}

std::string read_file(const std::string& path) {
  return spindle::to_thread([path] {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("read_file", path);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = detail::retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
      if (n < 0) fail("read_file", path);
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  });
}

void write_file(const std::string& path, std::string_view data) {
  spindle::to_thread([path, d = std::string(data)] {
    File f(path, O_WRONLY | O_CREAT | O_TRUNC);
    write_all(f.fd(), d, nullptr, "write_file", path);
  });
}

File::File(const std::string& path, int flags, int mode)
    : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)), path_(path) {
  if (fd_ < 0) fail("open", path);
}

File::File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() { close(); }

void File::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string File::read_at(std::uint64_t offset, std::size_t n) {
  const int fd = fd_;
  const std::string path = path_;
  return spindle::to_thread([fd, path, offset, n] {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = detail::retry_eintr(
          [&] { return ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got)); });
      if (r < 0) fail("read_at", path);
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  });
}

void File::write_at(std::uint64_t offset, std::string_view data) {
  const int fd = fd_;
  const std::string path = path_;
  spindle::to_thread(
      [fd, path, offset, d = std::string(data)] { write_all(fd, d, &offset, "write_at", path); });
}

std::uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("fstat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace spindle::io
