// Timeouts and structured concurrency: with_timeout, wait_for, and a TaskGroup whose failing
// task cancels its sibling, which learns exactly why (cancellation provenance).
#include <chrono>
#include <iostream>
#include <spindle/spindle.hpp>
#include <stdexcept>

using namespace std::chrono_literals;

int main() {
  spindle::run([] {
    try {
      spindle::with_timeout(100ms, [] { spindle::sleep(1s); });
    } catch (const spindle::TimeoutError&) {
      std::cout << "with_timeout: gave up after 100 ms" << std::endl;
    }

    const int answer = spindle::wait_for(
        [] {
          spindle::sleep(50ms);
          return 42;
        },
        200ms);
    std::cout << "wait_for: got " << answer << " in time" << std::endl;

    try {
      spindle::task_group([](spindle::TaskGroup& g) {
        g.spawn(spindle::TaskOptions{.name = "uploader"}, [] {
          try {
            spindle::sleep(1s);
          } catch (const spindle::CancelledError& e) {
            std::cout << "uploader: " << e.what() << std::endl;
            throw;
          }
        });
        g.spawn(spindle::TaskOptions{.name = "writer"}, [] {
          spindle::sleep(10ms);
          throw std::runtime_error("disk full");
        });
      });
    } catch (const spindle::ExceptionGroup& eg) {
      std::cout << "task_group: " << eg.what() << std::endl;
    }
  });
}
