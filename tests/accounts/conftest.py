"""Helpers for the accounts tests: a secrets scan of every reply, and token crafting."""

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User

# Markers of stored password hashes; none of them may appear anywhere in a reply.
HASH_MARKERS = ("argon2$", "pbkdf2_sha256$", "pbkdf2_sha1$", "md5$", "unsalted_md5$")


def _keys_and_strings(value, keys, strings):
    if isinstance(value, dict):
        for key, inner in value.items():
            keys.append(str(key))
            _keys_and_strings(inner, keys, strings)
    elif isinstance(value, list):
        for inner in value:
            _keys_and_strings(inner, keys, strings)
    elif isinstance(value, str):
        strings.append(value)


def assert_no_secrets(response) -> None:
    """No reply carries a password or a hash: no `password` key in the data and no stored hash anywhere."""
    if "json" not in response.get("Content-Type", "") or not response.content:  # HEAD has no body
        return
    text = response.content.decode()
    body = json.loads(text)
    keys: list[str] = []
    strings: list[str] = []
    _keys_and_strings(body.get("data") if isinstance(body, dict) else body, keys, strings)
    assert not [key for key in keys if "password" in key.lower()], body
    for marker in HASH_MARKERS:
        assert marker not in text, text
    for encoded in User.objects.values_list("password", flat=True):
        assert encoded not in text, text


@pytest.fixture(autouse=True)
def _scan_every_reply(monkeypatch):
    """Every reply an APIClient gets in these tests is scanned for passwords and hashes."""
    original = APIClient.request

    def scanned(self, **kwargs):
        response = original(self, **kwargs)
        assert_no_secrets(response)
        return response

    monkeypatch.setattr(APIClient, "request", scanned)


def craft_token(*, token_type: str = "access", key: str | None = None, lifetime: timedelta = timedelta(minutes=5),
                **claims) -> str:
    """A JWT made outside the server: another key, another lifetime or other claims than it would use."""
    now = datetime.now(tz=UTC)
    payload = {"token_type": token_type, "jti": "crafted", "iat": int(now.timestamp()),
               "exp": int((now + lifetime).timestamp()), **claims}
    return jwt.encode(payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
