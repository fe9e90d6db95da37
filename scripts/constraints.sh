#!/usr/bin/env bash
# Write constraints.txt from the checkout's .venv (after `scripts/setup.sh test` has installed
# what pyproject.toml asks for): the versions scripts/setup.sh and the images in docker/ install.
# The CPU build's local label (+cpu) is dropped: `torch==2.13.0` matches every build of it, so
# each image still takes the build its torch index serves.
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo "# The versions every install of mimicry takes: scripts/setup.sh and the images in docker/ (pip -c)."
    echo "# Regenerate after changing pyproject.toml's dependencies: scripts/constraints.sh."
    .venv/bin/pip freeze --exclude-editable | grep -v '@ file' | sed -E 's/^(torch==[^+]+)\+.*/\1/' \
        | { cat; .venv/bin/pip show llama-cpp-python 2>/dev/null \
            | awk '/^Version:/ {print "llama-cpp-python==" $2}'; } | sort -f
} > constraints.txt
