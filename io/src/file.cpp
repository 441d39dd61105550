// Files and pipes. Regular files cannot be polled, so their I/O runs on the loop's thread
// pool (io_uring later); pipes poll like sockets and become Streams.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <spindle/cancel.hpp>
#include <spindle/io/file.hpp>
#include <spindle/io/pipe.hpp>
#include <spindle/thread.hpp>
#include <stdexcept>
#include <system_error>

#include "off_loop.hpp"
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
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open", path);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    write_all(fd, d, nullptr, "write_file", path);
  });
}

namespace detail {

/// An open file's fd, shared by the File and the jobs that use it: closed by the last.
struct FileFd {
  int fd = -1;
  std::string path;
  ~FileFd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace detail

namespace {

/// What runs f(fd) on the thread pool: holds the file while it runs, and lets go of it there,
/// so that if it is the last holder (the File closed meanwhile) the close happens on the
/// worker too, not on the loop where the finished job is destroyed.
template <class F>
auto on_file(std::shared_ptr<detail::FileFd> file, F f) {
  return [file = std::move(file), f = std::move(f)]() mutable {
    struct Release {
      std::shared_ptr<detail::FileFd>& file;
      ~Release() { file.reset(); }
    } release{file};
    return f(*file);
  };
}

const detail::FileFd& require(const std::shared_ptr<detail::FileFd>& f, const char* what) {
  if (!f) throw std::logic_error(std::string("File::") + what + ": the file is closed");
  return *f;
}

}  // namespace

File::File(const std::string& path, int flags, int mode) {
  f_ = detail::off_loop([path, flags, mode] {
    auto f = std::make_shared<detail::FileFd>();
    f->path = path;
    f->fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (f->fd < 0) fail("open", path);
    return f;
  });
}

File::File(File&& o) noexcept = default;

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    close();
    f_ = std::move(o.f_);
  }
  return *this;
}

File::~File() { close(); }

void File::close() noexcept {
  if (!f_) return;
  std::shared_ptr<detail::FileFd> last = std::move(f_);
  if (last.use_count() > 1) return;  // a job still uses it: it closes it when done
  try {
    CancelShield shield;
    detail::off_loop(on_file(std::move(last), [](detail::FileFd&) {}));
  } catch (...) {
    // the pool could not take it (never ran): `last` closes it here
  }
}

int File::fd() const noexcept { return f_ ? f_->fd : -1; }

std::string File::read_at(std::uint64_t offset, std::size_t n) {
  require(f_, "read_at");
  return detail::off_loop(on_file(f_, [offset, n](detail::FileFd& f) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = detail::retry_eintr(
          [&] { return ::pread(f.fd, out.data() + got, n - got, static_cast<off_t>(offset + got)); });
      if (r < 0) fail("read_at", f.path);
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }));
}

void File::write_at(std::uint64_t offset, std::string_view data) {
  require(f_, "write_at");
  detail::off_loop(on_file(f_, [offset, d = std::string(data)](detail::FileFd& f) {
    write_all(f.fd, d, &offset, "write_at", f.path);
  }));
}

std::uint64_t File::size() const {
  require(f_, "size");
  return detail::off_loop(on_file(f_, [](detail::FileFd& f) {
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail("fstat", f.path);
    return static_cast<std::uint64_t>(st.st_size);
  }));
}

}  // namespace spindle::io
