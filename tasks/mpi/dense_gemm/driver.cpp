// Driver for dense_gemm: every rank gets A and B and a C of m*n garbage values; C is checked on
// rank 0 only. Entries of A and B lie in [-1, 1], so |C[i][j]| stays around sqrt(k) / 3 and any
// summation order agrees with the reference to ~1e-14: 1e-9 relative + 1e-9 absolute is loose.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t m = WB_M, k = WB_K, n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> A = rng.doubles(m * k, -1.0, 1.0);
  const std::vector<double> B = rng.doubles(k * n, -1.0, 1.0);
  std::vector<double> C(m * n, -7.0);  // garbage: rows nobody writes stay wrong
  t.run([&] { gemm(A, B, C, m, k, n); }, [&] { ref::gemm(A, B, C, m, k, n); }, wb::root_only);
  t.check("C", C, 1e-9, 1e-9);
}
