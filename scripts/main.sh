#!/usr/bin/env bash
# The main job on a fresh machine: install, build the embedded model (cached), run the quickstart.
source "$(dirname "$0")/_env.sh"
workbench llm setup
workbench optimize tasks/quickstart.yaml "$@"
