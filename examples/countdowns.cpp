// Three countdowns gathered; prints line for line what countdowns.py (asyncio) prints.
#include <chrono>
#include <iostream>
#include <spindle/spindle.hpp>
#include <string>

using namespace std::chrono_literals;

void countdown(const std::string& name, int n) {
  while (n > 0) {
    std::cout << name << ": T-minus " << n << "\n";
    spindle::sleep(100ms);
    --n;
  }
  std::cout << name << ": liftoff!\n";
}

int main() {
  spindle::run([] {
    spindle::gather([] { countdown("A", 3); }, [] { countdown("B", 5); },
                    [] { countdown("C", 2); });
  });
}
