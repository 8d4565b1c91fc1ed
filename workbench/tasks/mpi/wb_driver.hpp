// wb_driver.hpp — helpers every MPI problem driver uses (part of the harness contract).
//
// A driver owns main(): it makes deterministic inputs from WB_SEED, calls the candidate,
// validates against the serial reference and prints, on rank 0 only, exactly:
//
//   VALIDATION: PASS <detail>        or   VALIDATION: FAIL <detail>
//   TIME_CANDIDATE: <seconds>        (only after PASS; mean of WB_ITERS timed calls)
//   TIME_REFERENCE: <seconds>        (only after PASS; mean of WB_ITERS reference calls)
//
// workbench.tasks.mpi parses these lines. The harness compiles with -DWB_SEED, -DWB_ITERS and one
// -DWB_<KEY>=<value> per entry of the problem's `size:` map.
#pragma once

#include <mpi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#ifndef WB_SEED
#error "compile with -DWB_SEED=<int> (the harness passes problem.yaml's seed)"
#endif
#ifndef WB_ITERS
#error "compile with -DWB_ITERS=<int> (the harness passes problem.yaml's iterations)"
#endif

namespace wb {

inline int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// splitmix64: the same stream on every rank and every libstdc++ (std distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
  }
  // Integer in [lo, hi] (inclusive).
  long long integer(long long lo, long long hi) {
    return lo + static_cast<long long>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  std::vector<double> doubles(std::size_t n, double lo, double hi) {
    std::vector<double> v(n);
    for (auto& e : v) e = uniform(lo, hi);
    return v;
  }
  std::vector<int> ints(std::size_t n, int lo, int hi) {
    std::vector<int> v(n);
    for (auto& e : v) e = static_cast<int>(integer(lo, hi));
    return v;
  }

 private:
  std::uint64_t state_;
};

inline bool close(double got, double want, double rtol = 1e-9, double atol = 1e-9) {
  return std::isfinite(got) && std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

template <class T>
std::string str(const T& v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// "" when equal; otherwise what differs first (size or element), for the model's feedback.
inline std::string compare(const std::string& what, double got, double want, double rtol = 1e-9,
                           double atol = 1e-9) {
  if (close(got, want, rtol, atol)) return "";
  return what + " = " + str(got) + ", expected " + str(want);
}

inline std::string compare(const std::string& what, const std::vector<double>& got,
                           const std::vector<double>& want, double rtol = 1e-9,
                           double atol = 1e-9) {
  if (got.size() != want.size())
    return what + " has size " + str(got.size()) + ", expected " + str(want.size());
  std::size_t bad = 0, first = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!close(got[i], want[i], rtol, atol)) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad == 0) return "";
  return what + "[" + str(first) + "] = " + str(got[first]) + ", expected " + str(want[first]) +
         " (" + str(bad) + " of " + str(got.size()) + " elements wrong)";
}

template <class T>
std::string compare_exact(const std::string& what, const std::vector<T>& got,
                          const std::vector<T>& want) {
  if (got.size() != want.size())
    return what + " has size " + str(got.size()) + ", expected " + str(want.size());
  std::size_t bad = 0, first = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(got[i] == want[i])) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad == 0) return "";
  return what + "[" + str(first) + "] = " + str(got[first]) + ", expected " + str(want[first]) +
         " (" + str(bad) + " of " + str(got.size()) + " elements wrong)";
}

template <class T>
std::string compare_exact(const std::string& what, const T& got, const T& want) {
  if (got == want) return "";
  return what + " = " + str(got) + ", expected " + str(want);
}

// Combine each rank's error ("" = fine): rank 0 prints the VALIDATION line with the error of the
// lowest failing rank. Returns the verdict on every rank.
inline bool verdict(const std::string& local_error, const std::string& pass_detail = "") {
  const int me = rank(), n = size();
  int mine = local_error.empty() ? n : me, first = n;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  std::string message = local_error;
  if (first != n && first != 0) {
    int len = static_cast<int>(local_error.size());
    if (me == first) {
      MPI_Send(&len, 1, MPI_INT, 0, 7001, MPI_COMM_WORLD);
      MPI_Send(local_error.data(), len, MPI_CHAR, 0, 7002, MPI_COMM_WORLD);
    } else if (me == 0) {
      MPI_Recv(&len, 1, MPI_INT, first, 7001, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      message.assign(static_cast<std::size_t>(len), ' ');
      MPI_Recv(&message[0], len, MPI_CHAR, first, 7002, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  if (me == 0) {
    if (first == n) {
      std::printf("VALIDATION: PASS %s\n", pass_detail.c_str());
    } else {
      std::printf("VALIDATION: FAIL on rank %d at np=%d: %s\n", first, n, message.c_str());
    }
    std::fflush(stdout);
  }
  return first == n;
}

// Mean wall time of `iters` calls of f() on all ranks, barrier before and after each call.
template <class F>
double time_parallel(F&& f) {
  double total = 0.0;
  for (int i = 0; i < WB_ITERS; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    f();
    MPI_Barrier(MPI_COMM_WORLD);
    total += MPI_Wtime() - t0;
  }
  double mean = total / WB_ITERS;
  MPI_Bcast(&mean, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return mean;
}

// Mean wall time of `iters` calls of the serial reference, run on rank 0 only.
template <class F>
double time_serial(F&& f) {
  double mean = 0.0;
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    const double t0 = MPI_Wtime();
    for (int i = 0; i < WB_ITERS; ++i) f();
    mean = (MPI_Wtime() - t0) / WB_ITERS;
  }
  MPI_Bcast(&mean, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return mean;
}

inline void report_times(double candidate_s, double reference_s) {
  if (rank() == 0) {
    std::printf("TIME_CANDIDATE: %.9f\nTIME_REFERENCE: %.9f\n", candidate_s, reference_s);
    std::fflush(stdout);
  }
}

// Keeps a value alive so the optimizer cannot drop a timed call whose result is unused.
template <class T>
inline void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace wb
