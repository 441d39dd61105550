// Files and pipes. Regular files cannot be polled, so their I/O runs on the loop's thread
// pool (io_uring later); pipes poll like sockets and become Streams.
#include <spindle/io/file.hpp>
#include <spindle/io/pipe.hpp>
#include <spindle/thread.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "syscall.hpp"

namespace spindle::io {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path);
}

}  // namespace

std::pair<Stream, Stream> pipe() {
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
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
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        const int err = errno;
        ::close(fd);
        errno = err;
        fail("read_file", path);
      }
    }
    ::close(fd);
    return out;
  });
}

void write_file(const std::string& path, std::string_view data) {
  spindle::to_thread([path, d = std::string(data)] {
    File f(path, O_WRONLY | O_CREAT | O_TRUNC);
    std::size_t done = 0;
    while (done < d.size()) {
      const ssize_t n = ::write(f.fd(), d.data() + done, d.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write_file", path);
      done += static_cast<std::size_t>(n);
    }
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
      const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r == 0) break;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail("read_at", path);
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  });
}

void File::write_at(std::uint64_t offset, std::string_view data) {
  const int fd = fd_;
  const std::string path = path_;
  spindle::to_thread([fd, path, offset, d = std::string(data)] {
    std::size_t done = 0;
    while (done < d.size()) {
      const ssize_t r =
          ::pwrite(fd, d.data() + done, d.size() - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail("write_at", path);
      done += static_cast<std::size_t>(r);
    }
  });
}

std::uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("fstat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace spindle::io
