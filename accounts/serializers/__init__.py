"""Shapes of accounts input and output; the rules themselves live in services.

By noun: `users` (the profile, the /users inputs, the user replies), `auth` (signing up, in and out, tokens),
`passwords`, `sessions`, `factors` (the caller's own second factors) and `events` (the security log); `base`
holds what they share. Every name the views and tests import is re-exported here.
"""

from accounts.serializers.auth import (
    LoginInputSerializer,
    LoginReplySerializer,
    LogoutInputSerializer,
    MfaChallengeSerializer,
    MfaLoginInputSerializer,
    PasskeyLoginInputSerializer,
    PasskeyOptionsSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenReplySerializer,
    UnregisterInputSerializer,
)
from accounts.serializers.events import SecurityEventSerializer
from accounts.serializers.factors import (
    MfaStatusSerializer,
    PasskeyRegisteredSerializer,
    PasskeyRegisterInputSerializer,
    PasskeyRenameInputSerializer,
    PasskeySerializer,
    PasswordInputSerializer,
    RecoveryCodesSerializer,
    TotpCodeInputSerializer,
    TotpDisableInputSerializer,
    TotpEnrolmentSerializer,
)
from accounts.serializers.passwords import (
    PasswordChangeInputSerializer,
    PasswordCheckInputSerializer,
    PasswordResetInputSerializer,
    UserPasswordInputSerializer,
)
from accounts.serializers.sessions import SessionSerializer
from accounts.serializers.users import (
    EmailChangeInputSerializer,
    LoginNameInputSerializer,
    MeUpdateInputSerializer,
    PublicUserSerializer,
    SidInputSerializer,
    UserAdminCreateInputSerializer,
    UserAdminUpdateInputSerializer,
    UserCreateInputSerializer,
    UserSerializer,
    user_data,
)

__all__ = [
    "EmailChangeInputSerializer",
    "LoginInputSerializer",
    "LoginNameInputSerializer",
    "LoginReplySerializer",
    "LogoutInputSerializer",
    "MeUpdateInputSerializer",
    "MfaChallengeSerializer",
    "MfaLoginInputSerializer",
    "MfaStatusSerializer",
    "PasskeyLoginInputSerializer",
    "PasskeyOptionsSerializer",
    "PasskeyRegisterInputSerializer",
    "PasskeyRegisteredSerializer",
    "PasskeyRenameInputSerializer",
    "PasskeySerializer",
    "PasswordChangeInputSerializer",
    "PasswordCheckInputSerializer",
    "PasswordInputSerializer",
    "PasswordResetInputSerializer",
    "PublicUserSerializer",
    "RecoveryCodesSerializer",
    "RefreshInputSerializer",
    "RegisterInputSerializer",
    "SecurityEventSerializer",
    "SessionSerializer",
    "SidInputSerializer",
    "TokenReplySerializer",
    "TotpCodeInputSerializer",
    "TotpDisableInputSerializer",
    "TotpEnrolmentSerializer",
    "UnregisterInputSerializer",
    "UserAdminCreateInputSerializer",
    "UserAdminUpdateInputSerializer",
    "UserCreateInputSerializer",
    "UserPasswordInputSerializer",
    "UserSerializer",
    "user_data",
]
