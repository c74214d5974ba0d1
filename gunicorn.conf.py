"""gunicorn's settings for this service. gunicorn reads ./gunicorn.conf.py from its working directory, so
`gunicorn accountsite.wsgi ...` started from the repository's root, as the README and docs/operations.md show,
uses them; options given on the command line still win."""

import gc


def post_worker_init(worker: object) -> None:
    """Once a worker has loaded the application: its URLconf is built (every view imported, which its first
    request would otherwise wait for), then everything alive is moved out of the cyclic garbage collector's
    reach (gc.freeze). Those 120,000 objects live as long as the worker, and each full collection walked them
    all: about 38 ms, taken out of whichever request set it off."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - built on first access
    gc.freeze()
