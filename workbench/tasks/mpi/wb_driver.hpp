// wb_driver.hpp — the harness side of every MPI problem driver (part of the harness contract).
//
// A driver defines one function, WB_PROBLEM(t) { ... }: make the inputs of one trial from
// t.seed(), call the candidate and the reference through t.run(...), and name the outputs to
// check with t.check(...). The driver is compiled twice from the same source:
//
//  * with the candidate (the default): main() joins the judge over the Unix socket at
//    $WB_JUDGE, and for each trial the judge announces (a seed), makes the inputs, waits for the
//    judge's "go", calls the CANDIDATE and sends the checked outputs. It prints nothing and
//    decides nothing: every byte this process sends is treated as untrusted.
//  * as the judge's reference program (-DWB_JUDGE, no candidate, never run by the candidate):
//    `refprog expect SIZE SEED...` plays every rank of SIZE in turn and writes the REFERENCE's
//    outputs; `refprog time SEED...` times the reference call at one rank.
//
// The judge (workbench/tasks/mpi/_judge.py) compares, per rank and per trial, what the candidate
// sent with what the reference program wrote, and measures the candidate's time itself, from its
// "go" to the arrival of the last rank's "done" (the outputs travel inside that window). The
// checked trials use problem.yaml's seeds (`trials` of them at its `size`, then its `edge`
// sizes); each timed trial uses a fresh seed the candidate cannot know before.
//
// A trial's sizes arrive with its seed: size key `n` of problem.yaml is the expression WB_N
// (-DWB_N=(wb::size_at(0)), keys in sorted order), read at run time, so one build runs every
// trial's sizes.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#ifndef WB_JUDGE
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

namespace wb {

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

namespace detail {
// The current trial's sizes, in problem.yaml's sorted key order (set before each trial).
inline std::vector<long long>& trial_sizes() {
  static std::vector<long long> sizes;
  return sizes;
}
}  // namespace detail

// Size `i` of the current trial (WB_<KEY> expands to this).
inline long long size_at(std::size_t i) {
  const auto& sizes = detail::trial_sizes();
  if (i >= sizes.size()) {
    std::fprintf(stderr, "wb_driver: size %zu of the trial was not given\n", i);
    std::_Exit(3);
  }
  return sizes[i];
}

template <class T>
std::string str(const T& v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Where a run's outputs are checked: on every rank, or on rank 0 only (the candidate still runs
// on every rank; the reference runs only where something is checked).
enum class Where { every_rank, root_only };
constexpr Where every_rank = Where::every_rank;
constexpr Where root_only = Where::root_only;

namespace detail {

// Wire format (little-endian, as on every machine MPICH runs on here), one byte of kind first.
//   candidate -> judge: 'H' i32 rank, i32 size | 'R' ready | 'O' output | 'D' trial done
//   judge -> candidate: 'T' u64 seed, u8 k, k * i64 sizes (a trial) | 'G' go | 'F' finish
//   output 'O': u16 name length, name, u8 type ('d' f64 | 'i' i64), f64 rtol, f64 atol,
//               u64 count, count * 8 bytes
// The reference program writes the same 'O' records, and 'D' after each rank.
class Wire {
 public:
  virtual ~Wire() = default;
  virtual void put(const void* data, std::size_t n) = 0;
  virtual void get(void* data, std::size_t n) = 0;
  template <class T>
  void put_value(T v) {
    put(&v, sizeof v);
  }
};

[[noreturn]] inline void die(const std::string& why) {
  std::fprintf(stderr, "wb_driver: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(3);
}

template <class T>
void put_output(Wire& w, const std::string& name, const T* data, std::size_t count, double rtol,
                double atol) {
  static_assert(std::is_arithmetic<T>::value, "outputs are numbers or vectors of numbers");
  w.put_value<char>('O');
  const std::size_t len = name.size() < 65535 ? name.size() : 65535;
  w.put_value<std::uint16_t>(static_cast<std::uint16_t>(len));
  w.put(name.data(), len);
  std::vector<unsigned char> bytes(count * 8);
  if (std::is_floating_point<T>::value) {
    w.put_value<char>('d');
    for (std::size_t i = 0; i < count; ++i) {
      const double v = static_cast<double>(data[i]);
      std::memcpy(&bytes[i * 8], &v, 8);
    }
  } else {
    w.put_value<char>('i');
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t v = static_cast<std::int64_t>(data[i]);
      std::memcpy(&bytes[i * 8], &v, 8);
    }
  }
  w.put_value<double>(rtol);
  w.put_value<double>(atol);
  w.put_value<std::uint64_t>(count);
  if (count) w.put(bytes.data(), bytes.size());
}

}  // namespace detail

enum class Role { candidate, reference };

// One trial at one rank: its seed, the rank and the run size, and the two calls.
class Trial {
 public:
  Trial(Role role, std::uint64_t seed, int rank, int size, detail::Wire& wire)
      : role_(role), seed_(seed), rank_(rank), size_(size), wire_(wire) {}

  std::uint64_t seed() const { return seed_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool checked_here() const { return checked_; }
  double reference_seconds() const { return reference_s_; }
  int runs() const { return runs_; }

  // With the candidate: wait for the judge's go on every rank, then call `candidate`.
  // In the reference program: call `reference` where outputs are checked (timed).
  template <class C, class R>
  void run(C&& candidate, R&& reference, Where where = every_rank) {
    if (runs_++) detail::die("the driver calls t.run more than once in a trial");
    checked_ = where == every_rank || rank_ == 0;
    if (role_ == Role::candidate) {
      wire_.put_value<char>('R');
      char go = 0;
      wire_.get(&go, 1);
      if (go == 'F') {  // the judge has seen enough (threads left running): every rank is here
        MPI_Finalize();
        std::exit(0);
      }
      if (go != 'G') detail::die("the judge did not say go");
      candidate();
    } else if (checked_) {
      const auto t0 = std::chrono::steady_clock::now();
      reference();
      reference_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }

  // A floating-point output, compared as |got - want| <= atol + rtol * |want| (and finite).
  template <class T, typename std::enable_if<std::is_floating_point<T>::value, int>::type = 0>
  void check(const std::string& name, T value, double rtol = 1e-9, double atol = 1e-9) {
    if (checked_) detail::put_output(wire_, name, &value, 1, rtol, atol);
  }
  template <class T, typename std::enable_if<std::is_floating_point<T>::value, int>::type = 0>
  void check(const std::string& name, const std::vector<T>& v, double rtol = 1e-9,
             double atol = 1e-9) {
    if (checked_) detail::put_output(wire_, name, v.data(), v.size(), rtol, atol);
  }
  // An integer output, compared exactly.
  template <class T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
  void check(const std::string& name, T value) {
    if (checked_) detail::put_output(wire_, name, &value, 1, 0.0, 0.0);
  }
  template <class T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
  void check(const std::string& name, const std::vector<T>& v) {
    if (checked_) detail::put_output(wire_, name, v.data(), v.size(), 0.0, 0.0);
  }

 private:
  Role role_;
  std::uint64_t seed_;
  int rank_, size_;
  detail::Wire& wire_;
  bool checked_ = false;
  int runs_ = 0;
  double reference_s_ = 0.0;
};

}  // namespace wb

void wb_problem(wb::Trial& t);
#define WB_PROBLEM(t) void wb_problem(wb::Trial& t)

#ifndef WB_JUDGE

namespace wb {
namespace detail {

class SocketWire : public Wire {
 public:
  explicit SocketWire(int fd) : fd_(fd) {}
  void put(const void* data, std::size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n) {
      const ssize_t k = ::write(fd_, p, n);
      if (k <= 0) die("the judge closed the connection");
      p += k;
      n -= static_cast<std::size_t>(k);
    }
  }
  void get(void* data, std::size_t n) override {
    char* p = static_cast<char*>(data);
    while (n) {
      const ssize_t k = ::read(fd_, p, n);
      if (k <= 0) die("the judge closed the connection");
      p += k;
      n -= static_cast<std::size_t>(k);
    }
  }

 private:
  int fd_;
};

// The judge listens on a Unix socket in a directory of its own; the path arrives in $WB_JUDGE.
inline int connect_judge() {
  const char* path = std::getenv("WB_JUDGE");
  if (!path || !*path) die("WB_JUDGE is not set: run the program through the harness");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(path) + 1 > sizeof addr.sun_path) die("WB_JUDGE is too long");
  std::strcpy(addr.sun_path, path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("cannot reach the judge");
  return fd;
}

}  // namespace detail
}  // namespace wb

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  wb::detail::SocketWire wire(wb::detail::connect_judge());
  wire.put_value<char>('H');
  wire.put_value<std::int32_t>(rank);
  wire.put_value<std::int32_t>(size);
  for (;;) {
    char kind = 0;
    wire.get(&kind, 1);
    if (kind != 'T') break;  // 'F': the judge has what it needs
    std::uint64_t seed = 0;
    wire.get(&seed, sizeof seed);
    unsigned char count = 0;
    wire.get(&count, 1);
    auto& sizes = wb::detail::trial_sizes();
    sizes.assign(count, 0);
    for (auto& v : sizes) {
      std::int64_t x = 0;
      wire.get(&x, sizeof x);
      v = x;
    }
    wb::Trial trial(wb::Role::candidate, seed, rank, size, wire);
    wb_problem(trial);
    if (trial.runs() != 1) wb::detail::die("the driver did not call t.run");
    wire.put_value<char>('D');
  }
  MPI_Finalize();
  return 0;
}

#else  // WB_JUDGE: the reference program

namespace wb {
namespace detail {

class StdoutWire : public Wire {
 public:
  void put(const void* data, std::size_t n) override {
    if (std::fwrite(data, 1, n, stdout) != n) die("cannot write the reference outputs");
  }
  void get(void*, std::size_t) override { die("the reference program reads nothing"); }
};

class NullWire : public Wire {
 public:
  void put(const void*, std::size_t) override {}
  void get(void*, std::size_t) override { die("the reference program reads nothing"); }
};

inline std::uint64_t parse_u64(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (!*s || *end) die(std::string("not a number: ") + s);
  return v;
}

// A trial argument, SEED or SEED:SIZE,SIZE,...: sets the trial's sizes, returns its seed.
inline std::uint64_t parse_trial(const char* arg) {
  const std::string text(arg);
  const std::size_t colon = text.find(':');
  auto& sizes = trial_sizes();
  sizes.clear();
  if (colon != std::string::npos) {
    std::size_t at = colon + 1;
    while (at <= text.size()) {
      std::size_t comma = text.find(',', at);
      if (comma == std::string::npos) comma = text.size();
      const std::string one = text.substr(at, comma - at);
      char* end = nullptr;
      const long long v = std::strtoll(one.c_str(), &end, 10);
      if (one.empty() || *end) die("not a size: " + one);
      sizes.push_back(v);
      at = comma + 1;
    }
  }
  return parse_u64(text.substr(0, colon).c_str());
}

}  // namespace detail
}  // namespace wb

// refprog expect SIZE TRIAL...  the reference's outputs of every rank of SIZE, per trial
// refprog time TRIAL...         seconds of each reference call at one rank, one line per trial
// (a TRIAL is SEED:SIZE,SIZE,...: the seed and the trial's sizes in sorted key order)
int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "expect" && argc > 3) {
    const int size = static_cast<int>(wb::detail::parse_u64(argv[2]));
    wb::detail::StdoutWire wire;
    for (int a = 3; a < argc; ++a) {
      const std::uint64_t seed = wb::detail::parse_trial(argv[a]);
      for (int r = 0; r < size; ++r) {
        wb::Trial trial(wb::Role::reference, seed, r, size, wire);
        wb_problem(trial);
        if (trial.runs() != 1) wb::detail::die("the driver did not call t.run");
        wire.put_value<char>('D');
      }
    }
    std::fflush(stdout);
    return 0;
  }
  if (mode == "time" && argc > 2) {
    wb::detail::NullWire wire;
    for (int a = 2; a < argc; ++a) {
      wb::Trial trial(wb::Role::reference, wb::detail::parse_trial(argv[a]), 0, 1, wire);
      wb_problem(trial);
      std::printf("%.9f\n", trial.reference_seconds());
    }
    return 0;
  }
  std::fprintf(stderr, "usage: refprog expect SIZE TRIAL... | refprog time TRIAL...\n");
  return 2;
}

#endif  // WB_JUDGE
