#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace {

// Summary of a segment: its total, best prefix, best suffix and best subarray sum. An empty
// segment (a rank with no elements) is marked and acts as the identity.
struct Segment {
  long long total, prefix, suffix, best, empty;
};

// inout = in (the left segment) followed by inout (the right one).
void combine(void* in_, void* inout_, int* len, MPI_Datatype*) {
  const Segment* in = static_cast<const Segment*>(in_);
  Segment* inout = static_cast<Segment*>(inout_);
  for (int i = 0; i < *len; ++i) {
    const Segment& a = in[i];
    Segment& b = inout[i];
    if (a.empty) continue;
    if (b.empty) {
      b = a;
      continue;
    }
    Segment c;
    c.total = a.total + b.total;
    c.prefix = std::max(a.prefix, a.total + b.prefix);
    c.suffix = std::max(b.suffix, b.total + a.suffix);
    c.best = std::max({a.best, b.best, a.suffix + b.prefix});
    c.empty = 0;
    b = c;
  }
}

}  // namespace

long long max_subarray_sum(std::vector<int> const& x) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  const std::size_t lo = n * rank / size, hi = n * (rank + 1) / size;
  Segment mine{0, 0, 0, 0, 1};
  if (lo < hi) {
    long long sum = 0, ending = x[lo];
    mine.prefix = x[lo];
    mine.best = x[lo];
    for (std::size_t i = lo; i < hi; ++i) {
      sum += x[i];
      mine.prefix = std::max(mine.prefix, sum);
      if (i > lo) ending = ending > 0 ? ending + x[i] : static_cast<long long>(x[i]);
      mine.best = std::max(mine.best, ending);
    }
    mine.total = sum;
    long long tail = 0;
    mine.suffix = x[hi - 1];
    for (std::size_t i = hi; i-- > lo;) {
      tail += x[i];
      mine.suffix = std::max(mine.suffix, tail);
    }
    mine.empty = 0;
  }
  MPI_Datatype type;
  MPI_Type_contiguous(5, MPI_LONG_LONG, &type);
  MPI_Type_commit(&type);
  MPI_Op op;
  MPI_Op_create(&combine, 0 /* not commutative: blocks are combined in rank order */, &op);
  Segment all{};
  MPI_Allreduce(&mine, &all, 1, type, op, MPI_COMM_WORLD);
  MPI_Op_free(&op);
  MPI_Type_free(&type);
  return all.best;
}
