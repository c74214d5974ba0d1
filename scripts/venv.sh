# Sourced by serve.sh and test.sh: make .venv with Python 3.11 and install $1 when it changed.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.installed-$(cat requirements*.txt | cksum | cut -d' ' -f1)-$(basename "$1")
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$1"
  touch "$stamp"
fi
