"""A software WebAuthn authenticator for tests: a P-256 key made with `cryptography`, answering the
options the service hands out exactly as a browser and a passkey would (attestation "none")."""

import hashlib
import json
import secrets
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

ORIGIN = "http://localhost:8000"  # the default WEBAUTHN_ORIGINS
RP_ID = "localhost"
UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, user verified, attested credential


class SoftAuthenticator:
    def __init__(self, *, origin: str = ORIGIN, rp_id: str = RP_ID) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.sign_count = 0
        self.origin, self.rp_id = origin, rp_id
        self.user_handle = b""
        self.public_key: dict | None = None  # the COSE key registered instead of this key's, if set (a bad one)
        self.verifies_user = True  # False: a key that proves presence only (a touch, no PIN or fingerprint)

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        if self.public_key is not None:
            return cbor2.dumps(self.public_key)
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def create(self, options: dict) -> dict:
        """The PublicKeyCredential navigator.credentials.create(options) would answer."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        auth_data = (self._rp_hash() + bytes([UP | UV | AT]) + struct.pack(">I", self.sign_count) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": self.id, "rawId": self.id, "type": "public-key", "response": {
            "clientDataJSON": bytes_to_base64url(self._client_data("webauthn.create", options["challenge"])),
            "attestationObject": bytes_to_base64url(attestation), "transports": ["internal"]}}

    def get(self, options: dict) -> dict:
        """The PublicKeyCredential navigator.credentials.get(options) would answer."""
        self.sign_count += 1
        flags = UP | UV if self.verifies_user else UP
        auth_data = self._rp_hash() + bytes([flags]) + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": self.id, "rawId": self.id, "type": "public-key", "response": {
            "clientDataJSON": bytes_to_base64url(client_data), "authenticatorData": bytes_to_base64url(auth_data),
            "signature": bytes_to_base64url(signature), "userHandle": bytes_to_base64url(self.user_handle)}}
