// Sample sort: sort blocks, pick splitters from regular samples, exchange buckets with
// MPI_Alltoallv, sort each bucket, gather the buckets in rank order on rank 0.
#include <mpi.h>

#include <algorithm>
#include <vector>

void sort_ints(std::vector<int> const& x, std::vector<int>& sorted) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  std::vector<int> local(x.begin() + n * rank / size, x.begin() + n * (rank + 1) / size);
  std::sort(local.begin(), local.end());
  const std::size_t m = local.size();

  std::vector<int> samples(size, 0), all_samples(static_cast<std::size_t>(size) * size);
  for (int i = 0; i < size; ++i) samples[i] = m ? local[m * i / size] : 0;
  MPI_Allgather(samples.data(), size, MPI_INT, all_samples.data(), size, MPI_INT,
                MPI_COMM_WORLD);
  std::sort(all_samples.begin(), all_samples.end());
  std::vector<int> splitters(size - 1);
  for (int i = 1; i < size; ++i) splitters[i - 1] = all_samples[static_cast<std::size_t>(i) * size];

  std::vector<int> send_counts(size), send_displs(size), recv_counts(size), recv_displs(size);
  std::size_t start = 0;
  for (int b = 0; b < size; ++b) {
    const std::size_t stop =
        b + 1 < size
            ? std::upper_bound(local.begin(), local.end(), splitters[b]) - local.begin()
            : m;
    send_displs[b] = static_cast<int>(start);
    send_counts[b] = static_cast<int>(std::max(stop, start) - start);
    start = std::max(stop, start);
  }
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    recv_displs[r] = total;
    total += recv_counts[r];
  }
  std::vector<int> bucket(total);
  MPI_Alltoallv(local.data(), send_counts.data(), send_displs.data(), MPI_INT, bucket.data(),
                recv_counts.data(), recv_displs.data(), MPI_INT, MPI_COMM_WORLD);
  std::sort(bucket.begin(), bucket.end());

  std::vector<int> sizes(size), displs(size);
  MPI_Gather(&total, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    int offset = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = offset;
      offset += sizes[r];
    }
    sorted.resize(n);
  }
  MPI_Gatherv(bucket.data(), total, MPI_INT, rank == 0 ? sorted.data() : nullptr, sizes.data(),
              displs.data(), MPI_INT, 0, MPI_COMM_WORLD);
}
