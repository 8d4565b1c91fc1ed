// Driver for topk_largest: every rank gets x; result is checked on rank 0 only.
// x is a shuffled set of distinct values, with planted ties for large inputs: the maximum twice,
// at 3n/10 and 4n/10 (one block at np=2 and np=4, two blocks at np=3), the third largest value
// three times next to each other, and the second largest as the very last element (the
// remainder of the block division at np=3).
#include <utility>

#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t n = WB_N, k = WB_K;
  wb::Rng rng(t.seed());
  std::vector<int> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 3 * static_cast<int>(i) - static_cast<int>(n);
  for (std::size_t i = n; i > 1; --i)  // Fisher-Yates
    std::swap(x[i - 1], x[static_cast<std::size_t>(rng.integer(0, static_cast<long long>(i) - 1))]);
  if (n >= 100) {
    const int top = 2 * static_cast<int>(n) + 10;  // above every shuffled value
    x[3 * n / 10] = x[4 * n / 10] = top;
    x[n - 1] = top - 1;
    x[n / 10] = x[n / 10 + 1] = x[n / 10 + 2] = top - 2;
  }
  std::vector<int> result(3, -7);  // garbage on entry
  t.run([&] { top_k(x, k, result); }, [&] { ref::top_k(x, k, result); }, wb::root_only);
  t.check("result", result);
}
