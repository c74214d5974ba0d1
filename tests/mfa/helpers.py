"""Second-factor helpers for tests: an authenticator app turned on, and its codes at any moment."""

from datetime import datetime

from django.utils import timezone

from accounts.models import TotpDevice, User
from accounts.services import mfa, passkeys
from tests.mfa.authenticator import SoftAuthenticator


def totp_code(user: User, at: datetime | None = None, steps: int = 0) -> str:
    """The code `user`'s authenticator app shows at `at` (now), `steps` time steps later (or earlier)."""
    device = TotpDevice.objects.get(user=user)
    totp = mfa._totp(device)
    moment = (at or timezone.now()).timestamp() + steps * totp.interval
    return totp.at(moment)


def totp_on(user: User, at: datetime | None = None) -> list[str]:
    """Turns the authenticator app of `user` on through the services; answers the recovery codes. The
    confirming code is of the previous step, so the current one stays usable."""
    mfa.totp_enrol_start(user=user)
    return mfa.totp_confirm(user=user, code=totp_code(user, at, steps=-1), ip="127.0.0.1", now=at)



def passkey_on(user: User, name: str = "laptop") -> SoftAuthenticator:
    """Registers a software passkey for `user` through the services; answers its authenticator."""
    authenticator = SoftAuthenticator()
    passkeys.passkey_register(user=user, credential=authenticator.create(passkeys.registration_options(user=user)),
                              name=name)
    return authenticator
