"""The bare baseline: the template's settings (default apps and middleware) with no REST framework and no
auth on its one view. Same database settings as the djoser baseline, though the view does not query it."""

from peersite.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("rest_framework", "djoser")]  # noqa: F405
ROOT_URLCONF = "peersite.bare_urls"
del REST_FRAMEWORK  # noqa: F821
