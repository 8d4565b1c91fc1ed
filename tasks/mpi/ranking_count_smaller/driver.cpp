// Driver for ranking_count_smaller: values are whole numbers in [0, 500) so ties are common and
// `<` vs `<=` matters; checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  std::vector<double> x(WB_N);
  for (double& v : x) v = static_cast<double>(rng.integer(0, 499));
  std::vector<int> counts;
  t.run([&] { count_smaller(x, counts); }, [&] { ref::count_smaller(x, counts); },
        wb::root_only);
  t.check("counts", counts);
}
