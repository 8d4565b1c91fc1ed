// Driver for stencil_life: each rank gets its rows of the grid; each rank's final rows are
// checked against the same rows of the serial result (a rank without rows checks an empty block).
// About a third of the cells start alive; the tiny edge grids (fewer rows than ranks) start with
// three quarters alive, so that they do not die out at once and their rows depend on the rows
// of other ranks.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const int rank = t.rank(), size = t.size();
  const std::size_t n = WB_N;
  const int generations = static_cast<int>(WB_GENERATIONS);
  wb::Rng rng(t.seed());
  std::vector<int> global(n * n);
  for (auto& c : global) {
    if (n < 8)
      c = rng.integer(0, 3) != 0 ? 1 : 0;  // tiny grids: 3/4 alive
    else
      c = rng.integer(0, 2) == 0 ? 1 : 0;  // 1/3 alive
  }
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  std::vector<int> rows(global.begin() + begin * n, global.begin() + end * n);
  t.run([&] { game_of_life(rows, n, generations); },
        [&] {
          std::vector<int> all = global;
          ref::game_of_life(all, n, generations);
          rows.assign(all.begin() + begin * n, all.begin() + end * n);
        },
        wb::every_rank);
  t.check("rows (global row offset " + wb::str(begin) + ")", rows);
}
