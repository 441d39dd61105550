// pipe(), read_file/write_file, File: data through, errors named, no fd leaks.
#include <spindle_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {
std::string temp_path(const char* name) {
  return "/tmp/spindle-" + std::to_string(::getpid()) + "-" + name;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(files)

SPINDLE_REALTIME_TEST_CASE(a_pipe_carries_lines_and_ends) {
  auto pipe = spindle::io::pipe();  // no structured binding: clang 14 cannot capture one
  spindle::io::Stream& in = pipe.first;
  spindle::io::Stream& out = pipe.second;
  auto writer = spindle::spawn([&out] {
    for (int i = 0; i < 3; ++i) out.write("line " + std::to_string(i) + "\n");
    out.write(std::string(200000, 'z'));  // more than a pipe holds: parks until read
    out.close();
  });
  BOOST_TEST(in.read_line() == "line 0\n");
  BOOST_TEST(in.read_line() == "line 1\n");
  BOOST_TEST(in.read_line() == "line 2\n");
  std::size_t zs = 0;
  for (std::string part = in.read(); !part.empty(); part = in.read()) zs += part.size();
  BOOST_TEST(zs == 200000u);
  BOOST_TEST(in.at_eof());
  writer.join();
}

SPINDLE_REALTIME_TEST_CASE(writing_to_a_pipe_without_reader_is_epipe) {
  auto [in, out] = spindle::io::pipe();
  in.close();
  try {
    out.write("nobody reads this");
    out.drain();
    BOOST_FAIL("writing to a pipe without a reader must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == EPIPE);  // and SIGPIPE did not kill us
  }
}

SPINDLE_REALTIME_TEST_CASE(read_and_write_whole_files) {
  const std::string path = temp_path("whole");
  spindle::io::write_file(path, "first\nsecond\n");
  BOOST_TEST(spindle::io::read_file(path) == "first\nsecond\n");
  spindle::io::write_file(path, "replaced");
  BOOST_TEST(spindle::io::read_file(path) == "replaced");
  ::unlink(path.c_str());
  try {
    spindle::io::read_file(path);
    BOOST_FAIL("reading a missing file must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
    BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
  }
}

SPINDLE_REALTIME_TEST_CASE(file_reads_and_writes_at_offsets) {
  const std::string path = temp_path("offsets");
  const int before = spindle_test::open_fds();
  {
    spindle::io::File f(path, O_RDWR | O_CREAT | O_TRUNC);
    BOOST_TEST((::fcntl(f.fd(), F_GETFD) & FD_CLOEXEC) != 0);
    f.write_at(0, "hello world");
    f.write_at(6, "there");
    BOOST_TEST(f.size() == 11u);
    BOOST_TEST(f.read_at(0, 100) == "hello there");
    BOOST_TEST(f.read_at(6, 3) == "the");
  }
  BOOST_TEST(spindle_test::open_fds() == before);
  ::unlink(path.c_str());
  BOOST_CHECK_THROW(spindle::io::File("/nonexistent/dir/x", O_RDONLY), std::system_error);
}

namespace {
/// The file's contents, read with plain system calls (not through the pool).
std::string contents(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "(missing)";
  std::string out(64, '\0');
  const ssize_t n = ::read(fd, out.data(), out.size());
  ::close(fd);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}
}  // namespace

// The thread pool's case: epoll runs file I/O there (io_uring's cancelled operations end
// before the call returns: below).
SPINDLE_EPOLL_TEST_CASE(a_cancelled_write_never_lands_in_a_file_opened_after_close) {
  const std::string first = temp_path("first"), second = temp_path("second");
  const int before = spindle_test::open_fds();
  spindle::io::File f(first, O_RDWR | O_CREAT | O_TRUNC);
  // Every worker of the pool (at most 32) held busy: the write below is queued, not started,
  // when its task is cancelled and the file closed.
  std::promise<void> go;
  std::shared_future<void> held = go.get_future().share();
  std::vector<spindle::Task<void>> blockers;
  for (int i = 0; i < 40; ++i) {
    blockers.push_back(spindle::spawn([held] { spindle::to_thread([held] { held.wait(); }); }));
  }
  spindle::sleep(20ms);
  auto writer = spindle::spawn([&] { f.write_at(0, "late"); });
  spindle::sleep(20ms);
  writer.cancel();
  BOOST_CHECK_THROW(writer.join(), spindle::CancelledError);
  const int old_fd = f.fd();
  f.close();
  BOOST_TEST(f.fd() == -1);
  // Whoever opens a file now (plain open(2): the lowest free number) must not get the number
  // the queued write will use.
  const int other = ::open(second.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  BOOST_TEST_REQUIRE(other >= 0);
  BOOST_TEST(other != old_fd);
  go.set_value();
  for (auto& b : blockers) b.join();
  // The write, run after all, lands in its own file (which it then closes), nowhere else.
  for (int i = 0; i < 500 && contents(first) != "late"; ++i) spindle::sleep(10ms);
  BOOST_TEST(contents(first) == "late");
  BOOST_TEST(contents(second).empty());
  ::close(other);
  for (int i = 0; i < 500 && spindle_test::open_fds() != before; ++i) spindle::sleep(10ms);
  BOOST_TEST(spindle_test::open_fds() == before);
  BOOST_CHECK_THROW(f.write_at(0, "x"), std::logic_error);
  ::unlink(first.c_str());
  ::unlink(second.c_str());
}

SPINDLE_REALTIME_TEST_CASE(file_io_into_caller_buffers_and_sync) {
  const std::string path = temp_path("spans");
  const int before = spindle_test::open_fds();
  {
    spindle::io::File f(path, O_RDWR | O_CREAT | O_TRUNC);
    const std::string text = "0123456789abcdef";
    f.write_at(4, std::as_bytes(std::span<const char>(text.data(), text.size())));
    f.sync();
    f.sync(true);
    BOOST_TEST(f.size() == 20u);
    char buf[32];
    const std::size_t n = f.read_at(2, std::as_writable_bytes(std::span<char>(buf)));
    BOOST_TEST(n == 18u);  // up to the end of the file
    BOOST_TEST(std::string(buf, n) == std::string(2, '\0') + text);
    BOOST_TEST(f.read_at(100, 10).empty());  // past the end: nothing
  }
  BOOST_TEST(spindle_test::open_fds() == before);
  ::unlink(path.c_str());
}

SPINDLE_REALTIME_TEST_CASE(o_direct_reads_and_writes_aligned_blocks) {
  // /tmp may be a tmpfs, which has no O_DIRECT: use the build directory's file system.
  const std::string path = "spindle-odirect-" + std::to_string(::getpid());
  constexpr std::size_t kBlock = 4096;
  std::unique_ptr<std::byte, decltype(&std::free)> block(
      static_cast<std::byte*>(std::aligned_alloc(kBlock, 2 * kBlock)), &std::free);
  std::memset(block.get(), 'x', 2 * kBlock);
  std::memset(block.get() + kBlock, 'y', kBlock);
  {
    spindle::io::File f(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT);
    f.write_at(0, std::span<const std::byte>(block.get(), 2 * kBlock));
    std::memset(block.get(), 0, 2 * kBlock);
    BOOST_TEST(f.read_at(kBlock, std::span<std::byte>(block.get(), kBlock)) == kBlock);
    BOOST_TEST(static_cast<char>(block.get()[0]) == 'y');
    BOOST_TEST(static_cast<char>(block.get()[kBlock - 1]) == 'y');
    // Unaligned is the kernel's EINVAL, named.
    try {
      f.read_at(1, std::span<std::byte>(block.get(), kBlock));
      BOOST_FAIL("an unaligned O_DIRECT read must throw");
    } catch (const std::system_error& e) {
      BOOST_TEST(e.code().value() == EINVAL);
      BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
    }
  }
  ::unlink(path.c_str());
}

SPINDLE_URING_TEST_CASE(io_uring_file_io_needs_no_thread_pool) {
  const std::string path = temp_path("ring");
  spindle::io::write_file(path, std::string(100000, 'q'));
  BOOST_TEST(spindle::io::read_file(path) == std::string(100000, 'q'));
  spindle::io::File f(path, O_RDWR);
  f.write_at(99999, "!");
  BOOST_TEST(f.read_at(99990, 100) == "qqqqqqqqq!");
  BOOST_TEST(f.size() == 100000u);
  f.sync();
  f.close();
  BOOST_TEST(spindle::stats().pool_threads == 0u);
  BOOST_TEST(std::string(spindle::to_string(spindle::stats().backend)) == "io_uring");
  ::unlink(path.c_str());
}

SPINDLE_EPOLL_TEST_CASE(epoll_file_io_runs_on_the_thread_pool) {
  const std::string path = temp_path("pool");
  spindle::io::write_file(path, "x");
  BOOST_TEST(spindle::stats().pool_threads >= 1u);
  BOOST_TEST(std::string(spindle::to_string(spindle::stats().backend)) == "epoll");
  ::unlink(path.c_str());
}

SPINDLE_URING_TEST_CASE(io_uring_a_cancelled_file_read_waits_for_the_kernel_and_loses_nothing) {
  // A FIFO opened read-write: a read of it blocks in the kernel (an io_uring worker) until
  // bytes come, so the cancellation has something to cancel.
  const std::string path = temp_path("fifo");
  BOOST_REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  const int before = spindle_test::open_fds();
  {
    spindle::io::File f(path, O_RDWR);
    char buf[16];
    auto reader = spindle::spawn(
        [&] { return f.read_at(0, std::as_writable_bytes(std::span<char>(buf))); });
    spindle::sleep(20ms);
    BOOST_TEST(!reader.done());
    reader.cancel();
    BOOST_CHECK_THROW(reader.join(), spindle::CancelledError);
    // The kernel gave the read up before join() returned: what is written now reaches the
    // next read whole.
    BOOST_TEST(::write(f.fd(), "after", 5) == 5);
    BOOST_TEST(f.read_at(0, 5) == "after");
    // A timeout is a cancellation too.
    BOOST_CHECK_THROW(spindle::with_timeout(10ms, [&] { return f.read_at(0, 5); }),
                      spindle::TimeoutError);
  }
  BOOST_TEST(spindle_test::open_fds() == before);
  ::unlink(path.c_str());
}

SPINDLE_URING_TEST_CASE(io_uring_file_errors_name_the_path) {
  try {
    spindle::io::File("/nonexistent/dir/x", O_RDONLY);
    BOOST_FAIL("opening a missing file must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
    BOOST_TEST(std::string(e.what()).find("/nonexistent/dir/x") != std::string::npos);
  }
  spindle::io::File dir("/tmp", O_RDONLY | O_DIRECTORY);
  BOOST_CHECK_THROW(dir.read_at(0, 10), std::system_error);  // EISDIR
}

BOOST_AUTO_TEST_SUITE_END()
