#!/bin/sh
# Regenerates the hashed locks from the hand-pinned inputs: requirements.in -> requirements.txt, then
# requirements-dev.in (constrained by requirements.txt) -> requirements-dev.txt. Resolves against PyPI
# alone, for Python 3.11 on every platform, with the hashes of every wheel and sdist of each version.
# Versions already in a lock are kept unless an input needs another; `sh scripts/lock.sh --upgrade`
# moves the unpinned (transitive) packages to their newest versions.
set -eu
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
uv=${UV:-}
if [ -z "$uv" ]; then
  # A uv of a known version in a throwaway virtualenv outside the tree.
  tools=${XDG_CACHE_HOME:-$HOME/.cache}/accountsite-uv-$UV_VERSION
  if [ ! -x "$tools/bin/uv" ]; then
    PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
    "$PYTHON" -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  uv=$tools/bin/uv
fi
unset UV_INDEX UV_INDEX_URL UV_DEFAULT_INDEX UV_EXTRA_INDEX_URL UV_FIND_LINKS UV_CONSTRAINT UV_OVERRIDE
for name in requirements requirements-dev; do
  "$uv" pip compile --quiet --no-config --index-url https://pypi.org/simple \
    --universal --python-version 3.11 --generate-hashes --no-header \
    "$@" "$name.in" -o "$name.txt"
  {
    echo "# Generated from $name.in by \`sh scripts/lock.sh\` (uv $UV_VERSION); do not edit by hand."
    echo "# To change a version, edit $name.in, run \`sh scripts/lock.sh\` and commit both files."
    echo "# Every package is pinned with the PyPI hashes of all its files: install with"
    echo "# \`pip install --require-hashes -r $name.txt\` (scripts/venv.sh does)."
    cat "$name.txt"
  } > "$name.txt.tmp"
  mv "$name.txt.tmp" "$name.txt"
done
