# Sourced by serve.sh and test.sh: make .venv with Python 3.11 and install the lock $REQUIREMENTS when
# it changed. Every package, transitive ones included, is pinned and checked against its hash.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.installed-$(cat requirements*.txt | cksum | cut -d' ' -f1)-$REQUIREMENTS
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$REQUIREMENTS"
  touch "$stamp"
fi
