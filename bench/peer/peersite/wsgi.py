"""WSGI entry point of both baselines: DJANGO_SETTINGS_MODULE picks djoser (default) or the bare view."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
application = get_wsgi_application()
