// Built against spindle as a subproject and against the installed spindle.pc.
#include <spindle/spindle.hpp>

#include <chrono>
#include <iostream>

int main() {
  using namespace std::chrono_literals;
  const int total = spindle::run([] {
    auto [a, b] = spindle::gather(
        [] {
          spindle::sleep(1ms);
          return 20;
        },
        [] { return 22; });
    return a + b;
  });
  std::cout << "consumer: " << total << "\n";
  return total == 42 ? 0 : 1;
}
