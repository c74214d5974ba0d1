"""WSGI entry point (gunicorn accountsite.wsgi): Django's application, with the plain GETs of the signed-in
caller's profile answered in a fast lane before its handler (accountsite.fastpath.FastLanes)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
django_application = get_wsgi_application()

from accountsite.fastpath import FastLanes  # noqa: E402 - it reads DRF's settings: after Django is set up

application = FastLanes(django_application, paths=["/auth/me"])
