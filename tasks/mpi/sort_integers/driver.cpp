// Driver for sort_integers: every rank gets x (with many duplicates); checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const std::vector<int> x = rng.ints(WB_N, -20000, 20000);
  std::vector<int> sorted;
  t.run([&] { sort_ints(x, sorted); }, [&] { ref::sort_ints(x, sorted); }, wb::root_only);
  t.check("sorted", sorted);
}
