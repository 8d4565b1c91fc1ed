#!/usr/bin/env bash
# The tests on a fresh machine: install everything they need (Docker engine, sandbox image, the
# small test model, MPICH for the local sandbox), then lint and run pytest. Extra args go to pytest.
# With CI=true nothing may skip for a missing need, so every set-up step must succeed.
source "$(dirname "$0")/_env.sh"
ok=1
apt_install cmake g++ ninja-build debootstrap mpich libmpich-dev graphviz python3-pytest || ok=0
start_docker || ok=0
if [ "$ok" = 1 ]; then
  workbench sandbox build
else
  echo "warning: Docker or apt unavailable; docker tests will skip (fail under CI=true)" >&2
fi
workbench llm setup --model smollm2-135m-instruct
echo "==> ruff"
ruff check workbench tests bench
ruff format --check workbench tests bench
echo "==> import-linter (the layers of DESIGN.md)"
lint-imports
echo "==> pytest"
pytest "$@"
