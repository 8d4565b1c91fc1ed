// Driver for stencil_jacobi_1d: each rank gets its block of the array; each rank's final block
// is compared with the same slice of the serial result.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int rank = wb::rank(), size = wb::size();
  const std::size_t n = WB_N;
  wb::Rng rng(WB_SEED);
  const std::vector<double> global = rng.doubles(n, 0.0, 10.0);
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  const std::vector<double> block(global.begin() + begin, global.begin() + end);

  std::vector<double> want = global;
  ref::jacobi_1d(want, n, WB_STEPS);
  const std::vector<double> want_block(want.begin() + begin, want.begin() + end);
  std::vector<double> got = block;
  jacobi_1d(got, n, WB_STEPS);
  if (wb::verdict(wb::compare("u (global offset " + wb::str(begin) + ")", got, want_block,
                              1e-9, 1e-9))) {
    const double tc = wb::time_parallel([&] {
      std::vector<double> u = block;
      jacobi_1d(u, n, WB_STEPS);
      wb::keep(u);
    });
    const double tr = wb::time_serial([&] {
      std::vector<double> u = global;
      ref::jacobi_1d(u, n, WB_STEPS);
      wb::keep(u);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
