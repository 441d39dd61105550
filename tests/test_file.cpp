// pipe(), read_file/write_file, File: data through, errors named, no fd leaks.
#include <spindle_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <system_error>

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

BOOST_AUTO_TEST_SUITE_END()
