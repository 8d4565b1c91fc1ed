"""Code generators: optimizers whose candidates are programs (Python or C++/MPI).

- `sample`: n samples at a temperature, the best by public tests, repair rounds.
- `funcoder`: divide, conquer and functional consensus.
- `pgtd`: planning-guided token-level tree search.
- `codetree`: tree-sitter code trees (Python, C/C++) the generators edit and assemble with.
- `view`: the problem views (Python, MPI) that turn a code task into prompts and rewards.

Each generator is named in `workbench.optimizers.OPTIMIZERS`.
"""
