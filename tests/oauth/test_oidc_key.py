"""The ID-token signing key: from the environment, refused when missing in production, else a local file."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

from accounts.oauth.keys import oidc_private_key


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_production_refuses_to_start_without_a_key(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="OIDC_RSA_PRIVATE_KEY"):
        oidc_private_key(from_env="", production=True, dev_file=tmp_path / "oidc.key")
    assert not (tmp_path / "oidc.key").exists()


def test_key_from_the_environment_also_with_escaped_newlines(tmp_path):
    pem = _pem()
    assert oidc_private_key(from_env=pem, production=True, dev_file=tmp_path / "k") == pem
    assert oidc_private_key(from_env=pem.strip().replace("\n", "\\n"), production=True, dev_file=tmp_path / "k") == pem


def test_a_bad_key_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="not an unencrypted PEM"):
        oidc_private_key(from_env="-----BEGIN PRIVATE KEY-----\nnope\n", production=True, dev_file=tmp_path / "k")


def test_development_generates_one_key_and_keeps_it(tmp_path):
    dev_file = tmp_path / "var" / "oidc.key"
    first = oidc_private_key(from_env="", production=False, dev_file=dev_file)
    assert "PRIVATE KEY" in first and dev_file.stat().st_mode & 0o077 == 0
    assert oidc_private_key(from_env="", production=False, dev_file=dev_file) == first
    assert [path.name for path in dev_file.parent.iterdir()] == ["oidc.key"]
