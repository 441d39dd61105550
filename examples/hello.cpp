// asyncio tutorial, first program (twin: hello.py): a main task that sleeps between two prints.
//   async def main(): print("Hello"); await asyncio.sleep(1); print("World")
//   asyncio.run(main())
#include <chrono>
#include <iostream>
#include <spindle/spindle.hpp>

int main() {
  spindle::run([] {
    std::cout << "Hello" << std::endl;
    spindle::sleep(std::chrono::seconds(1));
    std::cout << "World" << std::endl;
  });
}
