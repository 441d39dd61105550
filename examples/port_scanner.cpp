// Scans a port range: a connect per port, at most 100 at once (a Semaphore), each bounded by
// with_timeout. Prints the open ports in order. Usage: port_scanner HOST FIRST LAST
#include <spindle/spindle.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: port_scanner HOST FIRST LAST\n");
    return 2;
  }
  const std::string host = argv[1];
  const int first = std::atoi(argv[2]), last = std::atoi(argv[3]);
  spindle::run([&] {
    spindle::Semaphore slots(100);
    std::vector<spindle::Task<bool>> probes;
    for (int port = first; port <= last; ++port) {
      probes.push_back(spindle::spawn([&, port] {
        slots.acquire();
        struct Release {
          spindle::Semaphore& s;
          ~Release() { s.release(); }
        } release{slots};
        try {
          spindle::with_timeout(500ms, [&] {
            spindle::io::open_connection(host, static_cast<std::uint16_t>(port));
          });
          return true;
        } catch (const std::system_error&) {
          return false;  // refused, unreachable
        } catch (const spindle::TimeoutError&) {
          return false;  // filtered
        }
      }));
    }
    const std::vector<bool> open = spindle::gather(probes);
    int count = 0;
    for (std::size_t i = 0; i < open.size(); ++i) {
      if (open[i]) {
        std::printf("open: %d\n", first + static_cast<int>(i));
        ++count;
      }
    }
    std::printf("%d of %zu ports open\n", count, open.size());
  });
}
