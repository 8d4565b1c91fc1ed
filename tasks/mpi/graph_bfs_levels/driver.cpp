// Driver for graph_bfs_levels. The reachable part is a random recursive tree on vertex 0 and a
// random subset of the others, plus extra random edges (some repeated); about a sixth of the
// vertices form a separate forest that vertex 0 cannot reach. Trap: vertex n - 1 is reachable
// and is the only way to one pendant vertex, so a candidate that never expands the last vertices
// (a dropped remainder) leaves that vertex at -1. levels starts with garbage; checked on rank 0.
#include <algorithm>

#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const int n = static_cast<int>(WB_N);
  std::vector<std::vector<int>> adj(n);
  auto link = [&](int a, int b) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  };
  // Vertices 1..n-1 in random order; the first reach - 1 of them join vertex 0's component.
  std::vector<int> order;
  for (int v = 1; v < n; ++v) order.push_back(v);
  for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<std::size_t>(rng.integer(0, i))]);
  const int unreachable = n >= 4 ? (n + 3) / 6 : 0;
  const int reach = n - unreachable;  // vertex 0 included
  if (n >= 2) {  // vertex n - 1 is reachable
    auto at = std::find(order.begin(), order.end(), n - 1);
    std::iter_swap(at, order.begin() + rng.integer(0, reach - 2));
  }
  std::vector<int> in(1, 0), out;
  for (int i = 0; i + 1 < reach; ++i) in.push_back(order[i]);
  for (int i = reach - 1; i < n - 1; ++i) out.push_back(order[i]);
  for (int i = 1; i < reach; ++i) link(in[i], in[static_cast<std::size_t>(rng.integer(0, i - 1))]);
  for (int e = 0; e < reach / 4; ++e) {
    const int a = in[static_cast<std::size_t>(rng.integer(0, reach - 1))];
    const int b = in[static_cast<std::size_t>(rng.integer(0, reach - 1))];
    if (a != b) link(a, b);
  }
  if (!out.empty()) link(out[0], n - 1);  // a pendant vertex reachable only through n - 1
  for (std::size_t i = 2; i < out.size(); ++i)
    if (rng.integer(0, 2) != 0) link(out[i], out[static_cast<std::size_t>(rng.integer(1, i - 1))]);

  std::vector<int> row_ptr(n + 1, 0), col_idx;
  for (int v = 0; v < n; ++v) {
    col_idx.insert(col_idx.end(), adj[v].begin(), adj[v].end());
    row_ptr[v + 1] = static_cast<int>(col_idx.size());
  }
  std::vector<int> levels(n + 3, 99);  // garbage: every entry must be written
  t.run([&] { bfs_levels(row_ptr, col_idx, levels); },
        [&] { ref::bfs_levels(row_ptr, col_idx, levels); }, wb::root_only);
  t.check("levels", levels);
}
