"""CORS for single-page apps: the OAuth endpoints a browser app calls, from the origins of a public
client's https redirect URIs (`allowed_origins`, set by accounts.oauth.applications).

A browser app exchanges its code and refreshes its tokens (the token endpoint), reads who signed in
(userinfo, whose Authorization header needs a preflight) and gives its tokens back at sign-out (RFC 7009).
DOT's own CORS on the token endpoint marks successful exchanges only: an app could not read why one failed
(`invalid_grant`), and the preflight a browser sends first went unanswered. django-cors-headers asks
`check_request_enabled` for origins outside CORS_ALLOWED_ORIGINS; every other address keeps that list alone.
"""

from typing import Any

from oauth2_provider.models import Application, is_origin_allowed

BROWSER_ENDPOINTS = frozenset({"/oauth/token", "/oauth/userinfo", "/oauth/revoke_token"})


def spa_origin_allowed(sender: Any, request: Any, **kwargs: Any) -> bool:
    """Whether `request` comes to a browser app's OAuth endpoint from a public client's origin."""
    origin = request.headers.get("origin", "")
    if request.path_info.rstrip("/") not in BROWSER_ENDPOINTS or not origin or \
            not (origin.isascii() and origin.isprintable()):
        return False
    candidates = Application.objects.filter(client_type=Application.CLIENT_PUBLIC,
                                            allowed_origins__icontains=origin).values_list("allowed_origins", flat=True)
    return any(is_origin_allowed(origin, allowed.split()) for allowed in candidates)
