"""What a gunicorn worker loads before its first request: the libraries of rare paths stay out.

Each worker imports accountsite.wsgi and builds the URLconf on its first request; whatever those pull in
is held by every worker for its whole life (issue 12 asks for master + 2 workers <= 200 MB of RSS). The
WebAuthn library (with pyOpenSSL, cbor2 and pyasn1) and segno are imported inside the functions that use
them, for passkey ceremonies and TOTP enrolment only: about 8 MB a worker. tqdm serves one management command.
A module-level import of any of them would pass every other test, so this one looks at sys.modules in a
fresh interpreter (the test process itself has imported everything).

gunicorn.conf.py then builds the URLconf before the first request and freezes what the worker holds (gc.freeze).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

NOT_AT_START = ("webauthn", "OpenSSL", "cbor2", "pyasn1", "segno", "tqdm")

PROBE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
import accountsite.wsgi
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_worker_starts_without_the_libraries_of_rare_paths():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=os.environ.copy(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "django" in loaded and "accounts" in loaded  # the probe did load the service
    assert loaded.isdisjoint(NOT_AT_START), sorted(loaded & set(NOT_AT_START))


GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"

FROZEN_PROBE = """
import gc, json, os, runpy, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
import accountsite.wsgi
from django.urls import get_resolver
built = "url_patterns" in vars(get_resolver())
runpy.run_path(sys.argv[1])["post_worker_init"](None)
print(json.dumps({"built_before": built, "built": "url_patterns" in vars(get_resolver()),
                  "frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_a_worker_builds_its_urls_and_freezes_what_it_loaded_before_its_first_request():
    result = subprocess.run([sys.executable, "-c", FROZEN_PROBE, str(GUNICORN_CONF)], cwd=REPO_ROOT,
                            env=os.environ.copy(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.splitlines()[-1])
    assert not state["built_before"] and state["built"]
    # Everything the worker loaded is out of the collector's reach; only what the hook's own call made is not.
    assert state["frozen"] > 50_000 and state["tracked"] < 1_000, state


def test_gunicorn_started_from_the_repository_reads_its_settings():
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "accountsite.wsgi"],
                            cwd=REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^post_worker_init\s*= <post_worker_init\(\)>$", result.stdout, re.MULTILINE), result.stdout
