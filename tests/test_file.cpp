// pipe(), read_file/write_file, File: data through, errors named, no fd leaks.
#include <spindle_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <future>
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

SPINDLE_REALTIME_TEST_CASE(a_cancelled_write_never_lands_in_a_file_opened_after_close) {
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

BOOST_AUTO_TEST_SUITE_END()
