// asyncio tutorial, "Coroutines" (twin: coroutine_result.py): run() runs a function as the
// loop's first task and hands back what it returns. In spindle any function can be that task:
// there is no `async` keyword, and greet() could sleep or read a socket just the same.
//   result = asyncio.run(greet()); print(result)
#include <iostream>
#include <spindle/spindle.hpp>
#include <string>

std::string greet() { return "Hello"; }

int main() {
  const std::string result = spindle::run(greet);
  std::cout << result << "\n";
}
