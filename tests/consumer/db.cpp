// A consumer of the optional spindle-sqlite component alone (no server needed).
#include <spindle/spindle.hpp>
#include <spindle/sqlite.hpp>

#include <cstdio>

int main() {
  return spindle::run([] {
    auto db = spindle::sqlite::open(":memory:");
    auto r = db.query("SELECT ? * 2 AS answer", 21);
    std::printf("db consumer: %s\n", r.get(0, "answer")->c_str());
    return 0;
  });
}
