// CPython's random.seed(n) and random.uniform(a, b), on std::mt19937, so that an example and
// its asyncio twin (examples/*.py) draw the same numbers from the same seed and print the same
// lines. CPython seeds its Mersenne Twister with init_by_array (the 32-bit words of n) where
// std::mt19937(n) uses init_genrand, and builds each double from two 32-bit draws.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

class PyRandom {
 public:
  /// Same stream as Python's random.seed(seed).
  explicit PyRandom(std::uint64_t seed) {
    InitByArray key{{}};
    do {  // the words of the seed, least significant first; [0] for seed 0
      key.words.push_back(static_cast<std::uint32_t>(seed));
      seed >>= 32;
    } while (seed != 0);
    engine_.seed(key);
  }

  /// Python's random.random(): 53 random bits in [0, 1).
  double random() {
    const std::uint32_t a = engine_() >> 5, b = engine_() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }

  /// Python's random.uniform(lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * random(); }

 private:
  // A seed sequence whose generate() writes CPython's init_by_array state; std::mt19937 takes
  // the 624 words as its state and twists before the first draw, exactly as CPython does.
  struct InitByArray {
    using result_type = std::uint32_t;
    std::vector<std::uint32_t> words;

    template <class It>
    void generate(It mt, It end) const {
      const std::size_t n = static_cast<std::size_t>(end - mt);
      mt[0] = 19650218U;  // init_genrand(19650218)
      for (std::size_t i = 1; i < n; ++i) {
        mt[i] = 1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
      }
      std::size_t i = 1, j = 0;
      for (std::size_t k = std::max(n, words.size()); k > 0; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) + words[j] +
                static_cast<std::uint32_t>(j);
        if (++i >= n) {
          mt[0] = mt[n - 1];
          i = 1;
        }
        if (++j >= words.size()) j = 0;
      }
      for (std::size_t k = n - 1; k > 0; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) -
                static_cast<std::uint32_t>(i);
        if (++i >= n) {
          mt[0] = mt[n - 1];
          i = 1;
        }
      }
      mt[0] = 0x80000000U;
    }
  };

  std::mt19937 engine_;
};
