// WRONG on purpose: when unpacking, the block received from rank s is placed at column
// s * (m / p) of the transpose instead of m * s / p (the first row rank s holds). The two agree
// when p divides m, and also for every s when m % p is small (m * s / p == s * (m / p) while
// s * (m % p) < p). m = 800 leaves 2 over at p = 3 (rank 2's block lands one column early) and
// none at p = 2, 4; the edge case m = 3 misplaces rank 2's block at p = 4 and m = 2 at p = 3, 4.
// So it fails at np=3 and np=4 and passes at np=1 and np=2.
#include <mpi.h>

#include <cstddef>
#include <vector>

void transpose(std::vector<double> const& local, std::vector<double>& out, std::size_t m,
               std::size_t n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t p = static_cast<std::size_t>(size), me = static_cast<std::size_t>(rank);
  auto a_begin = [&](std::size_t s) { return m * s / p; };
  auto t_begin = [&](std::size_t d) { return n * d / p; };
  const std::size_t my_rows = a_begin(me + 1) - a_begin(me);
  const std::size_t my_cols = t_begin(me + 1) - t_begin(me);

  std::vector<int> scounts(size), sdispls(size), rcounts(size), rdispls(size);
  int soff = 0, roff = 0;
  for (std::size_t d = 0; d < p; ++d) {
    scounts[d] = static_cast<int>(my_rows * (t_begin(d + 1) - t_begin(d)));
    sdispls[d] = soff;
    soff += scounts[d];
    rcounts[d] = static_cast<int>((a_begin(d + 1) - a_begin(d)) * my_cols);
    rdispls[d] = roff;
    roff += rcounts[d];
  }

  std::vector<double> sendbuf(static_cast<std::size_t>(soff) + 1);
  for (std::size_t d = 0; d < p; ++d) {
    double* dst = sendbuf.data() + sdispls[d];
    for (std::size_t j = t_begin(d); j < t_begin(d + 1); ++j)
      for (std::size_t i = 0; i < my_rows; ++i) *dst++ = local[i * n + j];
  }
  std::vector<double> recvbuf(static_cast<std::size_t>(roff) + 1);
  MPI_Alltoallv(sendbuf.data(), scounts.data(), sdispls.data(), MPI_DOUBLE, recvbuf.data(),
                rcounts.data(), rdispls.data(), MPI_DOUBLE, MPI_COMM_WORLD);

  out.assign(my_cols * m, 0.0);
  const std::size_t block = m / p;
  for (std::size_t s = 0; s < p; ++s) {
    const std::size_t rows_s = a_begin(s + 1) - a_begin(s);
    const double* src = recvbuf.data() + rdispls[s];
    for (std::size_t jj = 0; jj < my_cols; ++jj)
      for (std::size_t i = 0; i < rows_s; ++i) out[jj * m + s * block + i] = *src++;
  }
}
