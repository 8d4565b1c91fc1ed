// Driver for histogram_pixels: values are the mean of two uniform draws (a triangle-shaped
// histogram); bins start with garbage; checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  std::vector<int> image(WB_N);
  for (int& v : image) v = static_cast<int>((rng.integer(0, 255) + rng.integer(0, 255)) / 2);

  std::array<long long, 256> want{}, got{};
  got.fill(-7);
  pixel_counts(image, got);
  std::string error;
  if (wb::rank() == 0) {
    ref::pixel_counts(image, want);
    error = wb::compare_exact("bins", std::vector<long long>(got.begin(), got.end()),
                              std::vector<long long>(want.begin(), want.end()));
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::array<long long, 256> bins{};
      pixel_counts(image, bins);
      wb::keep(bins);
    });
    const double tr = wb::time_serial([&] {
      std::array<long long, 256> bins{};
      ref::pixel_counts(image, bins);
      wb::keep(bins);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
