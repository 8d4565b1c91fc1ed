// Driver for histogram_pixels: values are the mean of two uniform draws (a triangle-shaped
// histogram); bins start with garbage; checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  std::vector<int> image(WB_N);
  for (int& v : image) v = static_cast<int>((rng.integer(0, 255) + rng.integer(0, 255)) / 2);
  std::array<long long, 256> bins;
  bins.fill(-7);  // garbage: a candidate that does not overwrite every bin fails
  t.run([&] { pixel_counts(image, bins); }, [&] { ref::pixel_counts(image, bins); },
        wb::root_only);
  t.check("bins", std::vector<long long>(bins.begin(), bins.end()));
}
