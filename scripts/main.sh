#!/usr/bin/env bash
# The main job on a fresh machine: install, start Docker and build the sandbox image (cached),
# build the embedded model (cached), run the quickstart; its generated code runs in Docker.
source "$(dirname "$0")/_env.sh"
if ! start_docker; then
  echo "error: no Docker engine; the quickstart runs generated code only in Docker" >&2
  echo "  install docker.io and start dockerd (as root or with sudo), then rerun $0" >&2
  exit 2
fi
apt_install debootstrap || true  # the image's base layer; `sandbox build` says so if it is missing
workbench sandbox build
workbench llm setup
workbench optimize tasks/quickstart.yaml "$@"
