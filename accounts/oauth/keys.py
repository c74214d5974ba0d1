"""The RS256 key that signs OpenID Connect ID tokens: from the environment, or a local development file.

Imported by settings, so it must not touch Django models or settings itself.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured


def _valid_pem(pem: str, source: str) -> str:
    try:
        serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{source} is not an unencrypted PEM private key: {exc}") from None
    return pem


def oidc_private_key(*, from_env: str, production: bool, dev_file: Path) -> str:
    """The PEM to sign with. Production must bring its own (every host has to sign with the same key);
    development generates one on first run into a git-ignored file, so tokens survive restarts."""
    if from_env.strip():
        # Many deployment tools cannot hold newlines in a variable; accept them written as "\n".
        return _valid_pem(from_env.strip().replace("\\n", "\n") + "\n", "OIDC_RSA_PRIVATE_KEY")
    if production:
        raise ImproperlyConfigured(
            "ACCOUNTSITE_ENV=production needs OIDC_RSA_PRIVATE_KEY: an RSA private key in PEM "
            "(e.g. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`)."
        )
    if dev_file.exists():
        return _valid_pem(dev_file.read_text(), str(dev_file))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    dev_file.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then hard-linked into place (which fails if the file exists): two
    # processes starting at once never read half a key, and both end up signing with the first one written.
    partial = dev_file.with_name(f".{dev_file.name}.{os.getpid()}.tmp")
    partial.write_text(pem)
    partial.chmod(0o600)
    try:
        os.link(partial, dev_file)
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return _valid_pem(dev_file.read_text(), str(dev_file))
