"""Password hashing: Argon2id at the OWASP-recommended cost, and a verifier for imported MD5 hashes."""

import hashlib

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class OWASPArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with 7 MiB, 5 passes, 1 lane: one of the OWASP Password Storage Cheat Sheet's equivalent
    settings (with 19 MiB and 2 passes, which this service used before).

    Django's default (100 MiB over 8 lanes) takes both cores of a small host for one login. Of OWASP's
    equivalent settings this one holds the least memory: each worker process keeps the hash's working
    memory after its first login (the C library does not give it back), 7 MiB instead of 19, and it fits
    the caches better, so a verify costs less CPU too (about 22 ms instead of 31 on the benchmark machine).
    Hashes made with other parameters are re-hashed on the next successful login (must_update compares
    them), once: a current hash is never re-hashed.
    """

    algorithm = "argon2"
    time_cost = 5
    memory_cost = 7 * 1024
    parallelism = 1


class LegacyUnsaltedMD5PasswordHasher(BasePasswordHasher):
    """Verifies hashes imported from the original service: the hex MD5 of the password, stored as
    ``unsalted_md5$$<hex>``. Django 5.1 dropped its own; this one exists only so those users can sign in
    once, after which Django re-hashes their password with Argon2id. It is never first in the list."""

    algorithm = "unsalted_md5"

    def salt(self) -> str:
        return ""

    def encode(self, password: str, salt: str) -> str:
        digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
        return f"{self.algorithm}$${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, _, digest = encoded.split("$", 2)
        return {"algorithm": algorithm, "hash": digest, "salt": ""}

    def verify(self, password: str, encoded: str) -> bool:
        return constant_time_compare(self.encode(password, ""), encoded)

    def safe_summary(self, encoded: str) -> dict:
        return {"algorithm": self.algorithm, "hash": mask_hash(self.decode(encoded)["hash"], show=3)}

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
