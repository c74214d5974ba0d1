"""WSGI entry point (gunicorn accountsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
application = get_wsgi_application()
