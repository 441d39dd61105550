// asyncio tutorial: two tasks run concurrently, so the whole program takes about 2 s, not 3.
//   task1 = asyncio.create_task(say_after(1, 'hello'))
//   task2 = asyncio.create_task(say_after(2, 'world'))
//   await task1; await task2
#include <chrono>
#include <cstdio>
#include <iostream>
#include <spindle/spindle.hpp>
#include <string>

using namespace std::chrono_literals;

void say_after(std::chrono::seconds delay, const std::string& what) {
  spindle::sleep(delay);
  std::cout << what << std::endl;
}

int main() {
  spindle::run([] {
    const auto start = spindle::Loop::current().time();
    auto task1 = spindle::spawn(say_after, 1s, "hello");
    auto task2 = spindle::spawn(say_after, 2s, "world");
    std::cout << "started" << std::endl;
    task1.join();
    task2.join();
    const std::chrono::duration<double> took = spindle::Loop::current().time() - start;
    std::printf("finished in %.2f s\n", took.count());
  });
}
