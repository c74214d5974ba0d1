"""Passkeys through the API, answered by a software authenticator (tests.mfa.authenticator): registering,
signing in with one as the second factor and without a password, listing, renaming and removing."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from webauthn.helpers import bytes_to_base64url

from accounts.models import AuditEvent, Passkey, RecoveryCode, Session, UserStatus, WebAuthnHandle
from accounts.selectors import mfa_methods
from accountsite import errors
from accountsite.audit import AuditAction
from tests.conftest import envelope
from tests.factories import PASSWORD
from tests.mfa.authenticator import SoftAuthenticator
from tests.mfa.helpers import totp_on

pytestmark = pytest.mark.django_db


def register(client, authenticator: SoftAuthenticator, name: str = "laptop") -> dict:
    options = envelope(client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    assert options["rp"]["id"] == "localhost" and options["authenticatorSelection"]["residentKey"] == "preferred"
    return envelope(client.post("/auth/passkeys", {"webauthn": authenticator.create(options), "name": name},
                                format="json"), status=201)["data"]


def test_the_first_passkey_turns_mfa_on_with_recovery_codes(user, user_client, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data = register(user_client, SoftAuthenticator())
    assert [message.subject for message in mailoutbox] == ["A sign-in factor was added to your accountsite account"]
    assert 'The passkey "laptop" was added to "alice"' in mailoutbox[0].body
    assert data["passkey"]["name"] == "laptop" and len(data["recovery_codes"]) == 10
    assert mfa_methods(user) == ["webauthn", "recovery_code"]
    second = register(user_client, SoftAuthenticator(), "phone")
    assert second["recovery_codes"] == []  # the account's codes stay as they were
    assert AuditEvent.objects.filter(user=user, action="mfa.passkey_add").count() == 2


def test_a_registration_answer_is_good_once_and_only_for_this_site(user, user_client, settings):
    authenticator = SoftAuthenticator()
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    credential = authenticator.create(options)
    envelope(user_client.post("/auth/passkeys", {"webauthn": credential}, format="json"), status=201)
    envelope(user_client.post("/auth/passkeys", {"webauthn": credential}, format="json"), errors.InvalidSecretError)
    elsewhere = SoftAuthenticator(origin="https://evil.example")
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    envelope(user_client.post("/auth/passkeys", {"webauthn": elsewhere.create(options)}, format="json"),
             errors.InvalidParametersError)
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    envelope(user_client.post("/auth/passkeys", {"webauthn": {"id": "x", "response": "garbage"}}, format="json"),
             errors.InvalidParametersError)
    assert Passkey.objects.count() == 1


def test_a_refused_registration_names_the_field_and_echoes_nothing(user, user_client):
    """The library's reasons quote what the client sent (the client data's type and origin) and its own
    internals: the reply names the `webauthn` field with a fixed message instead."""
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    client_data = {"type": "<b>sent</b>", "challenge": options["challenge"], "origin": "https://evil.example"}
    credential = {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {
        "clientDataJSON": bytes_to_base64url(json.dumps(client_data).encode()), "attestationObject": "oA"}}
    reply = envelope(user_client.post("/auth/passkeys", {"webauthn": credential}, format="json"),
                     errors.InvalidParametersError)
    assert list(reply["error"]) == ["webauthn"]
    text = json.dumps(reply)
    assert "<b>sent</b>" not in text and "evil.example" not in text and "ClientDataType" not in text
    assert Passkey.objects.count() == 0


# Registration answers the library cannot parse or refuses, each for a different reason of its own.
MALFORMED_REGISTRATIONS = {
    "no response": lambda good: {"id": good["id"]},
    "a string response": lambda good: {**good, "response": "garbage"},
    "attestation not base64": lambda good: {**good, "response": {**good["response"], "attestationObject": "%%%"}},
    "attestation not CBOR": lambda good: {**good, "response": {**good["response"], "attestationObject": "_w"}},
    "client data not JSON": lambda good: {**good, "response": {**good["response"], "clientDataJSON": "AAAA"}},
    "rawId not the id": lambda good: {**good, "rawId": "AAAA"},
}


@pytest.mark.parametrize("malformed", list(MALFORMED_REGISTRATIONS.values()), ids=list(MALFORMED_REGISTRATIONS))
def test_a_malformed_registration_gets_our_own_message(user, user_client, malformed):
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    credential = malformed(SoftAuthenticator().create(options))
    reply = envelope(user_client.post("/auth/passkeys", {"webauthn": credential}, format="json"),
                     errors.InvalidParametersError)
    reason = "Not a valid answer to the registration options for this site."
    assert reply == {"code": 1007, "msg": f"Invalid parameters: webauthn: {reason}", "data": None,
                     "error": {"webauthn": [reason]}}
    assert not Passkey.objects.exists()


def cose_rsa(bits: int) -> dict:
    """A COSE RSA key (kty 3, alg -257 RS256, -1 the modulus, -2 the exponent) of a fresh key of `bits`."""
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key().public_numbers()
    return {1: 3, 3: -257, -1: numbers.n.to_bytes(bits // 8, "big"), -2: numbers.e.to_bytes(3, "big")}


# COSE keys (RFC 9053) that do not load as keys: kty 2 is EC2 (crv 1: P-256, x -2, y -3), kty 1 OKP (crv 6:
# Ed25519, 4: X25519), alg -7 ES256, -8 EdDSA.
NOT_KEYS = {
    "the EC point (0, 0)": {1: 2, 3: -7, -1: 1, -2: bytes(32), -3: bytes(32)},
    "an EC point off the curve": {1: 2, 3: -7, -1: 1, -2: (1).to_bytes(32, "big"), -3: (2).to_bytes(32, "big")},
    "an Ed25519 key one byte short": {1: 1, 3: -8, -1: 6, -2: bytes(range(31))},
    "an X25519 key for EdDSA": {1: 1, 3: -8, -1: 4, -2: bytes(range(32))},
    "a 1024-bit RSA key": cose_rsa(1024),
}


@pytest.mark.parametrize("public_key", list(NOT_KEYS.values()), ids=list(NOT_KEYS))
def test_a_passkey_whose_public_key_is_no_key_is_refused(user, user_client, mailoutbox,
                                                         django_capture_on_commit_callbacks, public_key):
    """Attestation "none" signs nothing with the key, so the library takes it unloaded: such a passkey could
    never sign in, yet would turn MFA on. Refused like any bad answer: the `webauthn` field, nothing echoed."""
    authenticator = SoftAuthenticator()
    authenticator.public_key = public_key
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    with django_capture_on_commit_callbacks(execute=True):
        reply = envelope(user_client.post("/auth/passkeys", {"webauthn": authenticator.create(options)},
                                          format="json"), errors.InvalidParametersError)
    assert reply["error"] == {"webauthn": ["The passkey's public key is not a valid key."]}
    assert not Passkey.objects.exists() and not RecoveryCode.objects.exists() and mfa_methods(user) == []
    assert mailoutbox == [] and not AuditEvent.objects.filter(action="mfa.passkey_add").exists()


@pytest.mark.parametrize("length", [1024, 4096])
def test_a_passkey_whose_id_is_longer_than_webauthn_allows_is_refused(user, user_client, length):
    """Over 1,023 bytes the id did not fit its column (a 500 on PostgreSQL); where it fit (SQLite), the
    passkey turned MFA on and could never sign in (an assertion's id is read up to that length)."""
    authenticator = SoftAuthenticator()
    authenticator.credential_id = bytes(range(256)) * (length // 256)
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    reply = envelope(user_client.post("/auth/passkeys", {"webauthn": authenticator.create(options)}, format="json"),
                     errors.InvalidParametersError)
    assert reply["error"] == {"webauthn": ["The passkey's id is longer than WebAuthn allows."]}
    assert not Passkey.objects.exists() and mfa_methods(user) == []


def test_a_passkey_whose_id_is_as_long_as_webauthn_allows_registers(user, user_client):
    authenticator = SoftAuthenticator()
    authenticator.credential_id = bytes(1023)
    register(user_client, authenticator)
    assert len(Passkey.objects.get(user=user).credential_id) == 1364


def test_a_2048_bit_rsa_passkey_registers(user, user_client):
    authenticator = SoftAuthenticator()
    authenticator.public_key = cose_rsa(2048)
    register(user_client, authenticator)
    assert Passkey.objects.filter(user=user).count() == 1


def test_an_ed25519_passkey_registers(user, user_client):
    authenticator = SoftAuthenticator()
    authenticator.public_key = {1: 1, 3: -8, -1: 6, -2: Ed25519PrivateKey.generate().public_key().public_bytes_raw()}
    register(user_client, authenticator)
    assert mfa_methods(user) == ["webauthn", "recovery_code"]


# Assertions a client may send that the library cannot parse or refuses, each for a different reason of its own.
MALFORMED_ASSERTIONS = {
    "no response": lambda good: {"id": good["id"]},
    "a string response": lambda good: {**good, "response": "garbage"},
    "client data not base64": lambda good: {**good, "response": {**good["response"], "clientDataJSON": "%%%"}},
    "client data not JSON": lambda good: {**good, "response": {**good["response"], "clientDataJSON": "AAAA"}},
    "another type": lambda good: {**good, "response": {**good["response"], "clientDataJSON": bytes_to_base64url(
        json.dumps({"type": "<b>sent</b>", "challenge": "x", "origin": "https://evil.example"}).encode())}},
    "authenticator data cut short": lambda good: {**good, "response": {**good["response"], "authenticatorData": "AA"}},
    "rawId not the id": lambda good: {**good, "rawId": "AAAA"},
}


@pytest.mark.parametrize("malformed", list(MALFORMED_ASSERTIONS.values()), ids=list(MALFORMED_ASSERTIONS))
def test_a_malformed_assertion_gets_our_own_message(user, user_client, anon_client, malformed):
    """Second factor or sign-in without a password: the contract's code and status, a fixed message of ours,
    and nothing of the library's reasons nor of what was sent."""
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    first = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                      format="json"))["data"]
    second_factor = envelope(anon_client.post("/auth/login/mfa", {
        "mfa_token": first["mfa_token"], "webauthn": malformed(authenticator.get(first["webauthn"]))}, format="json"),
        errors.InvalidSecretError)
    body, _ = passwordless(anon_client, authenticator)
    body["webauthn"] = malformed(body["webauthn"])
    without_password = envelope(anon_client.post("/auth/login/passkey", body, format="json"),
                                errors.InvalidSecretError)
    for reply in (second_factor, without_password):
        assert reply["msg"] == "This code is wrong or was already used." and "error" not in reply
    assert Passkey.objects.get().last_used_at is None


def test_a_passkey_is_a_second_factor_at_login(user, user_client, anon_client):
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    first = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"))
    data = first["data"]
    assert data["methods"] == ["webauthn", "recovery_code"]
    assert [c["id"] for c in data["webauthn"]["allowCredentials"]] == [authenticator.id]
    reply = envelope(anon_client.post("/auth/login/mfa", {"mfa_token": data["mfa_token"],
                                                          "webauthn": authenticator.get(data["webauthn"])},
                                      format="json"))["data"]
    assert "access" in reply
    assert Passkey.objects.get().last_used_at is not None


def test_another_passkey_or_a_replayed_assertion_is_refused(user, user_client, anon_client):
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    data = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                     format="json"))["data"]
    stranger = SoftAuthenticator()
    stranger.credential_id = authenticator.credential_id  # same id, another key: a forged passkey
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": data["mfa_token"],
                                                  "webauthn": stranger.get(data["webauthn"])}, format="json"),
             errors.InvalidSecretError)
    assertion = authenticator.get(data["webauthn"])
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": data["mfa_token"], "webauthn": assertion},
                              format="json"))
    data = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                     format="json"))["data"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": data["mfa_token"], "webauthn": assertion},
                              format="json"), errors.InvalidSecretError)  # signed over the old challenge
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 2


def test_a_passkey_signs_in_without_a_password(user, user_client, anon_client):
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    options = envelope(anon_client.post("/auth/login/passkey/options"))["data"]
    assert "allowCredentials" not in options["webauthn"] or options["webauthn"]["allowCredentials"] == []
    body = {"passkey_token": options["passkey_token"], "webauthn": authenticator.get(options["webauthn"]),
            "terminal": "tablet"}
    data = envelope(anon_client.post("/auth/login/passkey", body, format="json"))["data"]
    assert data["terminal"] == "tablet" and data["user"]["username"] == "alice"
    envelope(anon_client.post("/auth/login/passkey", body, format="json"), errors.NotAuthenticatedError)  # used up
    options = envelope(anon_client.post("/auth/login/passkey/options"))["data"]
    unknown = SoftAuthenticator()
    envelope(anon_client.post("/auth/login/passkey", {"passkey_token": options["passkey_token"],
                                                      "webauthn": unknown.get(options["webauthn"])}, format="json"),
             errors.WrongPasswordError, status=401)
    assert Session.objects.filter(user=user, terminal="tablet").count() == 1



def passwordless(client, authenticator: SoftAuthenticator, **response_changes) -> tuple[dict, dict]:
    """Fresh options and the authenticator's answer, with `response_changes` made to its `response`."""
    options = envelope(client.post("/auth/login/passkey/options"))["data"]
    credential = authenticator.get(options["webauthn"])
    credential["response"].update(response_changes)
    for key in [key for key, value in response_changes.items() if value is None]:
        del credential["response"][key]
    return {"passkey_token": options["passkey_token"], "webauthn": credential}, options


@pytest.mark.parametrize("user_handle", [None, "", "bm90LXRoZS1oYW5kbGU", "%%%", "é"])
def test_a_sign_in_without_a_password_needs_the_owners_user_handle(user, user_client, anon_client, user_handle):
    """The credential alone names the account there, so the authenticator must also answer the handle the
    account's passkey was made under: missing, another one or garbage is refused like a wrong signature."""
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    body, _ = passwordless(anon_client, authenticator, userHandle=user_handle)
    envelope(anon_client.post("/auth/login/passkey", body, format="json"), errors.InvalidSecretError)
    assert Session.objects.filter(user=user).count() == 1  # user_client's own
    assert Passkey.objects.get().last_used_at is None
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 1


def test_without_a_password_the_authenticator_must_verify_its_user(user, user_client, anon_client):
    """A passkey instead of the password is both factors, so its authenticator must have verified the person
    (a PIN, a fingerprint: the UV flag). A key that proves presence only (a touch) signs in as the second factor
    after the password, not alone: whoever holds it, or took it, would need nothing else."""
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    authenticator.verifies_user = False
    body, options = passwordless(anon_client, authenticator)
    assert options["webauthn"]["userVerification"] == "required"
    envelope(anon_client.post("/auth/login/passkey", body, format="json"), errors.InvalidSecretError)
    assert Session.objects.filter(user=user).count() == 1  # user_client's own
    assert Passkey.objects.get().last_used_at is None
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 1
    data = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                     format="json"))["data"]
    assert data["webauthn"]["userVerification"] == "preferred"
    second_factor = {"mfa_token": data["mfa_token"], "webauthn": authenticator.get(data["webauthn"])}
    assert "access" in envelope(anon_client.post("/auth/login/mfa", second_factor, format="json"))["data"]


def test_a_frozen_accounts_right_passkey_counts_as_no_failure(user, user_client, anon_client, settings):
    """A right password of a frozen account gives its lockout slots back; its right passkey kept them, so each
    try counted as a failed guess and, past the limit, locked the account out once it was thawed."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 1
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    type(user).objects.filter(pk=user.pk).update(status=UserStatus.FROZEN)
    for _ in range(2):
        body, _ = passwordless(anon_client, authenticator)
        envelope(anon_client.post("/auth/login/passkey", body, format="json"), errors.AccountDisabledError)
    type(user).objects.filter(pk=user.pk).update(status=UserStatus.ACTIVE)
    body, _ = passwordless(anon_client, authenticator)
    assert envelope(anon_client.post("/auth/login/passkey", body, format="json"))["data"]["user"]["id"] == user.pk


def test_another_accounts_user_handle_does_not_sign_in(user, other, user_client, other_client, anon_client):
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    register(user_client, mine)
    register(other_client, theirs)
    body, _ = passwordless(anon_client, mine, userHandle=bytes_to_base64url(theirs.user_handle))
    envelope(anon_client.post("/auth/login/passkey", body, format="json"), errors.InvalidSecretError)
    body, _ = passwordless(anon_client, mine)
    assert envelope(anon_client.post("/auth/login/passkey", body, format="json"))["data"]["user"]["id"] == user.pk




def test_unknown_passkeys_guessed_in_parallel_cannot_all_pass_the_address_limit(db, settings, monkeypatch):
    """The address's slot is taken before the challenge and the passkey are looked at: a guess arriving while
    another is being judged (here, inside its challenge lookup) meets the taken slot, where the limit was
    checked first and counted after, so both passed it."""
    from accounts.services import passkeys

    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 1
    unknown = SoftAuthenticator()

    def guess() -> None:
        options = passkeys.passwordless_options()
        passkeys.passwordless_verify(token=options["passkey_token"], credential=unknown.get(options["webauthn"]),
                                     ip="203.0.113.9")

    take, meanwhile = passkeys._challenge_take, []

    def taken_while_another_guesses(key):
        if not meanwhile:
            meanwhile.append("started")
            try:
                guess()
            except errors.ServiceError as exc:
                meanwhile.append(type(exc))
        return take(key)

    monkeypatch.setattr(passkeys, "_challenge_take", taken_while_another_guesses)
    with pytest.raises(errors.WrongPasswordError):
        guess()
    assert meanwhile == ["started", errors.TooManyRequestsError]
    with pytest.raises(errors.TooManyRequestsError):
        guess()  # the first guess's failure is counted
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 1


def test_an_expired_passwordless_sign_in_costs_the_address_nothing(db, settings):
    from accounts.services import passkeys

    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 1
    for _ in range(3):
        with pytest.raises(errors.NotAuthenticatedError):
            passkeys.passwordless_verify(token="gone", credential={}, ip="203.0.113.9")


HOSTILE_IDS = ["x\x00", "\ud800", "a" * 2000, "", "a b", 5, None, ["x"]]


@pytest.mark.parametrize("credential_id", HOSTILE_IDS)
def test_a_hostile_credential_id_is_an_unknown_passkey(user, user_client, anon_client, credential_id):
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    body, _ = passwordless(anon_client, authenticator)
    body["webauthn"]["id"] = credential_id
    # Sent as JSON text: a lone surrogate arrives escaped, as a hostile client would send it.
    envelope(anon_client.post("/auth/login/passkey", json.dumps(body), content_type="application/json"),
             errors.WrongPasswordError, status=401)
    data = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                     format="json"))["data"]
    assertion = {**authenticator.get(data["webauthn"]), "id": credential_id}
    envelope(anon_client.post("/auth/login/mfa", json.dumps({"mfa_token": data["mfa_token"], "webauthn": assertion}),
                              content_type="application/json"), errors.InvalidSecretError)
    assert Passkey.objects.get().last_used_at is None

def test_a_passkey_from_before_handles_were_stored_still_signs_in(user, user_client, anon_client):
    """Registered by the previous release during an upgrade: no stored handle to compare, so the signature
    decides, as it did then."""
    authenticator = SoftAuthenticator()
    register(user_client, authenticator)
    WebAuthnHandle.objects.filter(user=user).delete()
    body, _ = passwordless(anon_client, authenticator, userHandle="b2xkLWhtYWMtaGFuZGxl")
    assert envelope(anon_client.post("/auth/login/passkey", body, format="json"))["data"]["user"]["id"] == user.pk

def test_as_a_second_factor_the_user_handle_is_checked_when_answered(user, other, user_client, other_client,
                                                                     anon_client):
    """Authenticators need not answer a handle when the account was named first (by its password)."""
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    register(user_client, mine)
    register(other_client, theirs)

    def second_factor(**response_changes) -> dict:
        data = envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD},
                                         format="json"))["data"]
        credential = mine.get(data["webauthn"])
        credential["response"].update(response_changes)
        return anon_client.post("/auth/login/mfa", {"mfa_token": data["mfa_token"], "webauthn": credential},
                                format="json")

    envelope(second_factor(userHandle=bytes_to_base64url(theirs.user_handle)), errors.InvalidSecretError)
    assert "access" in envelope(second_factor(userHandle=""))["data"]
    assert "access" in envelope(second_factor())["data"]

def test_passkeys_are_listed_renamed_and_removed_with_the_password(user, user_client, other_client):
    register(user_client, SoftAuthenticator())
    passkey = Passkey.objects.get()
    listed = envelope(user_client.get("/auth/passkeys"))["data"]
    assert [p["name"] for p in listed] == ["laptop"] and "public_key" not in listed[0]
    envelope(other_client.patch(f"/auth/passkeys/{passkey.pk}", {"name": "mine"}, format="json"), errors.NotFoundError)
    assert envelope(user_client.patch(f"/auth/passkeys/{passkey.pk}", {"name": "work laptop"},
                                      format="json"))["data"]["name"] == "work laptop"
    envelope(user_client.delete(f"/auth/passkeys/{passkey.pk}", {"password": "wrong-password"}, format="json"),
             errors.WrongPasswordError)
    envelope(user_client.delete(f"/auth/passkeys/{passkey.pk}", {"password": PASSWORD}, format="json"))
    assert not Passkey.objects.exists() and not RecoveryCode.objects.exists() and mfa_methods(user) == []


@pytest.mark.parametrize("name", ["laptop\u202egnp.exe", "laptop\nphone", "bell\x07"])
def test_a_passkey_name_is_one_line_of_plain_text(user, user_client, name):
    """The name is shown in the factor-added mail, the security log and the back office, as a terminal or
    a nickname is: no control or text-direction character may garble or disguise it."""
    authenticator = SoftAuthenticator()
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    reply = envelope(user_client.post("/auth/passkeys", {"webauthn": authenticator.create(options), "name": name},
                                      format="json"), errors.InvalidParametersError)
    assert list(reply["error"]) == ["name"] and not Passkey.objects.exists()
    register(user_client, authenticator)
    passkey = Passkey.objects.get()
    envelope(user_client.patch(f"/auth/passkeys/{passkey.pk}", {"name": name}, format="json"),
             errors.InvalidParametersError)
    passkey.refresh_from_db()
    assert passkey.name == "laptop"


def test_removing_a_passkey_keeps_the_codes_while_the_authenticator_app_is_on(user, user_client):
    totp_on(user)
    register(user_client, SoftAuthenticator())
    envelope(user_client.delete(f"/auth/passkeys/{Passkey.objects.get().pk}", {"password": PASSWORD}, format="json"))
    assert RecoveryCode.objects.filter(user=user).count() == 10


@pytest.mark.parametrize("transports", [5, "usb", {"a": 1}, ["usb", 3, "nfc"]])
def test_the_reported_transports_are_kept_only_as_a_list_of_names(user, user_client, transports):
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    credential = SoftAuthenticator().create(options)
    credential["response"]["transports"] = transports
    envelope(user_client.post("/auth/passkeys", {"webauthn": credential}, format="json"), status=201)
    assert Passkey.objects.get().transports == (["usb", "nfc"] if isinstance(transports, list) else [])


@pytest.mark.parametrize("junk", ["\x00", "usb\x00", "\ud800", "x" * 100_000, "teleport"])
def test_reported_transports_other_than_webauthns_names_are_left_out(user, user_client, junk):
    """A NUL or a lone surrogate in a transport was a 500 on PostgreSQL (jsonb refuses them); any other text
    was stored as it came, though no sign-in reads it."""
    options = envelope(user_client.post("/auth/passkeys/options", {"password": PASSWORD}, format="json"))["data"]
    credential = SoftAuthenticator().create(options)
    credential["response"]["transports"] = ["usb", junk, "internal"]
    body = json.dumps({"webauthn": credential})  # escaped, a lone surrogate too: as a client would send it
    envelope(user_client.post("/auth/passkeys", body, content_type="application/json"), status=201)
    assert Passkey.objects.get().transports == ["usb", "internal"]
