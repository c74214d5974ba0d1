"""The /auth, /users, /developer and seed /oauth/ operations, for API users (accountsite.schema)."""

from accountsite import errors
from accountsite.schema import Doc

E = errors
_USER = {"$ref": "#/components/schemas/User"}
_TOKENS = {"$ref": "#/components/schemas/TokenReply"}
_ME = {"allOf": [_USER, {"type": "object", "properties": {"developer": {
    "type": "object", "nullable": True, "description": "the developer's first app and app count; null for others",
    "properties": {"client_id": {"type": "string"}, "secret_id": {"type": "string"}, "name": {"type": "string"},
                   "redirect_uris": {"type": "array", "items": {"type": "string"}}, "apps": {"type": "integer"}}}}}]}
_ME_UPDATED = {"allOf": [_ME, {"type": "object", "properties": {
    "secret_id": {"type": "string", "description": "the new app's client id, when developer mode was just turned on"},
    "secret_value": {"type": "string", "description": "its client secret, shown this once"}}}]}
_ISSUED = {"allOf": [{"$ref": "#/components/schemas/Application"}, {"type": "object", "required": ["secret_value"],
           "properties": {"secret_value": {"type": "string", "nullable": True,
                                           "description": "the client secret, shown this once (null: a public client)"},
                          "client_secret": {"type": "string", "nullable": True,
                                            "description": "the same secret (OAuth's name)"}}}]}
# What anyone may see of a user; the user and operators get the full record instead.
_PUBLIC_USER = {"type": "object", "required": ["loginname", "userType"], "properties": {
    "loginname": {"type": "string"}, "nickname": {"type": "string"}, "intro": {"type": "string"},
    "github": {"type": "string"}, "school": {"type": "string"}, "website": {"type": "string"},
    "registered_at": {"type": "string", "format": "date-time"}, "userType": {"type": "integer"}}}
_SIGNED_UP = {"type": "object", "required": ["user"], "properties": {
    "user": _USER, "access": {"type": "string"}, "refresh": {"type": "string"},
    "expires_at": {"type": "string", "format": "date-time"}, "token_type": {"type": "string"},
    "terminal": {"type": "string"}}}

_REGISTER = (
    "Creates an account and signs it in on `terminal` (default `default`): the reply has the new user and a "
    "pair of tokens. When the service requires activation, the reply has the user only and an activation code is "
    "e-mailed. Login names are 3 to 64 of `A-Z a-z 0-9 @ . + - _`; passwords 8 to 128 characters. At most "
    "20 sign-ups per hour per client address (1029); refused input does not count.")
_LOGIN = (
    "Signs in with a login name or e-mail address (`username`, `email` or `login`) and `password` on a "
    "`terminal` (default `default`); signing in again on the same terminal ends its previous session. The "
    "access token lasts 15 minutes, the refresh token 14 days. A wrong name or password is 8004 with status 401 "
    "(the same reply for an unknown name); after 10 failures per account or 100 per address in 15 minutes the "
    "reply is 1029 whatever the password. With `secret_id` (or `client_id`) and `redirect_uri` (seed 001) the "
    "reply also carries an `authorization_code` for that app.")
_SIGN_IN_ERRORS = (E.InvalidParametersError, (E.WrongPasswordError, 401), E.TooManyRequestsError,
                   E.AccountNotActivatedError, E.AccountDisabledError, E.NotFoundError)
_PROFILE_UPDATE = (
    "Changes the caller's own profile: `nickname`, `real_name`, `intro`, `comment`, `github`, `school`, "
    "`website` (each may come alone, PUT or PATCH alike). `{\"is_developer\": true, \"redirect_uris\": ...}` "
    "turns developer mode on: the reply then carries the new app's `secret_id` and `secret_value`, shown once. "
    "A field the caller may not set, or an unknown one, is 7006 and nothing changes.")
_ME_READ = "The caller's own full record, and `developer` (their OAuth apps) for developers."
_RECORD_UPDATE = (
    "Changes a user record. The user may change their profile fields; operators with the matching permission "
    "also `status`, `role` (superusers only), `userType`, `password` and `invalid_at` (the login name is the "
    "path's, and an address changes by `PUT .../email`). Seed 004's spellings are accepted (`userName`, "
    "`comments`, `nickName`, `userstatus`, `usertype`, `passwd`, `invalidTime`). A field the caller may not "
    "set, or an unknown one, is 7006 with `error.fields`, and nothing changes.")
_UPDATE_ERRORS = (E.InvalidParametersError, E.MembershipChangeError)
_APP_INPUT = ("`name` and `redirect_uris` (space-separated or a list; absolute, an allowed scheme, no fragment, at "
              "most 10).")

OPERATIONS = {
    # --- sign-up, sign-in, tokens
    "auth_register_create": Doc("Sign up", _REGISTER, errors=(E.InvalidParametersError, E.TooManyRequestsError,
                                E.LoginNameTakenError, E.EmailTakenError), data=_SIGNED_UP),
    "register_create": Doc("Sign up (seed alias)", _REGISTER + " The same as `POST /auth/register`.",
                           errors=(E.InvalidParametersError, E.TooManyRequestsError, E.LoginNameTakenError,
                                   E.EmailTakenError), data=_SIGNED_UP),
    "auth_login_create": Doc("Sign in", _LOGIN, errors=_SIGN_IN_ERRORS),
    "login_create": Doc("Sign in (seed alias)", _LOGIN + " The same as `POST /auth/login`.", errors=_SIGN_IN_ERRORS),
    "auth_refresh_create": Doc(
        "Refresh the tokens",
        "Trades a refresh token for a new pair; the old refresh token stops working. Presenting a refresh token "
        "that was already traded ends the whole session (7005).",
        errors=(E.InvalidParametersError, E.NotAuthenticatedError, E.AccountNotActivatedError,
                E.AccountDisabledError)),
    "auth_logout_create": Doc(
        "Sign out",
        "Ends the current session (with an app's OAuth token: that token). `{\"all\": true}` ends every session "
        "and every app token of the account. A `username` that is not the caller's is 7005. The reply counts "
        "what was ended.", errors=(E.InvalidParametersError,),
        data={"type": "object", "properties": {"revoked": {"type": "integer", "example": 1}}}),
    "auth_password_create": Doc(
        "Change the password",
        "`old_password` and `new_password`. Signed in, it ends every other session and every app token and "
        "answers fresh tokens for the current session. Without a token (seed 003) `username` and the old "
        "password are the credential, counted like a sign-in; every session ends and the reply is `data: null`.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError, E.AccountNotActivatedError,
                E.AccountDisabledError, E.PermissionDeniedError), data=_TOKENS, nullable=True),
    "auth_unregister_create": Doc(
        "Delete one's own account",
        "Deletes the account after checking `password` (the signed-in caller's, or with `username` any "
        "account's). Sessions and app tokens end at once. A wrong password counts toward the sign-in lockout.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError, E.PermissionDeniedError)),
    # --- the caller's own account
    "auth_me_retrieve": Doc("Read one's own account", _ME_READ, data=_ME),
    "auth_retrieve": Doc("Read one's own account (alias)", _ME_READ + " The same as `GET /auth/me`.", data=_ME),
    "auth_me_update": Doc("Change one's own profile", _PROFILE_UPDATE, errors=(E.InvalidParametersError,),
                          data=_ME_UPDATED),
    "auth_me_partial_update": Doc("Change one's own profile", _PROFILE_UPDATE, errors=(E.InvalidParametersError,),
                                  data=_ME_UPDATED),
    "auth_update": Doc("Change one's own profile (alias)", _PROFILE_UPDATE, errors=(E.InvalidParametersError,),
                       data=_ME_UPDATED),
    "auth_partial_update": Doc("Change one's own profile (alias)", _PROFILE_UPDATE,
                               errors=(E.InvalidParametersError,), data=_ME_UPDATED),
    "auth_sessions_list": Doc(
        "List one's sessions",
        "Every signed-in terminal of the caller (browser sign-ins included), with its address, user agent and "
        "last use; `current` marks the session making the request. Needs the user's own sign-in."),
    "auth_sessions_destroy": Doc(
        "End a session",
        "Ends one of the caller's sessions by id: its tokens stop working at once on every server."),
    # --- second factors and the security log
    "auth_login_mfa_create": Doc(
        "Finish a sign-in with a second factor",
        "The second step of a sign-in for an account with a second factor: the `mfa_token` that `POST /auth/login` "
        "answered (valid 5 minutes, once) and one of `code` (the authenticator app's current code), "
        "`recovery_code`, or `webauthn` (a passkey's answer to the challenge in the first step's reply). The reply "
        "is the same as a sign-in's. Wrong codes count toward the account's lockout (1029); an expired or used "
        "`mfa_token` is 7005: sign in with the password again. One `mfa_token` is checked one request at a time: "
        "a second request while the first is being checked is 1029 with `Retry-After: 1`, and its factor is not "
        "used.",
        errors=(E.InvalidParametersError, E.InvalidSecretError, E.NotAuthenticatedError, E.TooManyRequestsError,
                E.AccountNotActivatedError, E.AccountDisabledError)),
    "auth_login_passkey_options_create": Doc(
        "Start a sign-in with a passkey",
        "A WebAuthn challenge for `navigator.credentials.get()` and its `passkey_token`; answer with "
        "`POST /auth/login/passkey`. Accounts with a passkey may sign in this way without a password."),
    "auth_login_passkey_create": Doc(
        "Sign in with a passkey",
        "Signs in with the browser's answer (`webauthn`) to the challenge of `passkey_token`, on `terminal`. The "
        "reply is the same as a sign-in's. An unknown passkey is 8004 with status 401; an expired challenge 7005.",
        errors=(E.InvalidParametersError, (E.WrongPasswordError, 401), E.InvalidSecretError, E.NotAuthenticatedError,
                E.TooManyRequestsError, E.AccountNotActivatedError, E.AccountDisabledError)),
    "auth_mfa_retrieve": Doc(
        "Show one's second factors",
        "Which second factors the caller has on (`methods`), whether the authenticator app is on, how many "
        "recovery codes are left and how many passkeys are registered. Never a secret."),
    "auth_mfa_totp_create": Doc(
        "Start enrolling an authenticator app",
        "Needs the `password` again (counted like a sign-in): a session someone else holds must not add a factor "
        "of its own. Answers a new secret as an `otpauth://` URI, in base32 and as a QR code (inline SVG). It signs "
        "nothing in until confirmed with `POST /auth/mfa/totp/confirm`, which e-mails the user. 1007 when the app "
        "is already on.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError)),
    "auth_mfa_totp_confirm_create": Doc(
        "Turn the authenticator app on",
        "Confirms the enrolment with a first `code` (one 30-second step either way is accepted, a code only once). "
        "The reply has 10 recovery codes, shown this once. Wrong codes count toward the account's sign-in lockout "
        "(1029), as at sign-in.",
        errors=(E.InvalidParametersError, E.InvalidSecretError, E.TooManyRequestsError)),
    "auth_mfa_totp_destroy": Doc(
        "Turn the authenticator app off",
        "Needs the `password` and a current `code`, or, when the app is lost, one of the `recovery_code`s (spent); "
        "exactly one of the two (1007 otherwise). Recovery codes go with it unless a passkey remains. 1009 when "
        "the app is not on.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.InvalidSecretError, E.TooManyRequestsError,
                E.NotFoundError)),
    "auth_mfa_recovery_codes_create": Doc(
        "New recovery codes",
        "Replaces the recovery codes with 10 new ones, shown this once; needs the `password` and a second factor "
        "that is on (1007 otherwise).",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError)),
    "auth_passkeys_list": Doc(
        "List one's passkeys", "The caller's passkeys: name, when added and last used. Never key material."),
    "auth_passkeys_options_create": Doc(
        "Start registering a passkey",
        "Needs the `password` again (counted like a sign-in), as adding any sign-in factor does. Answers the options "
        "for `navigator.credentials.create()`, with the service's relying-party id; answer them with "
        "`POST /auth/passkeys`, which e-mails the user.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError)),
    "auth_passkeys_create": Doc(
        "Register a passkey",
        "Registers the browser's answer (`webauthn`) under `name`. When it is the account's first second factor, "
        "the reply also has 10 recovery codes, shown this once.",
        status=201, errors=(E.InvalidParametersError, E.InvalidSecretError)),
    "auth_passkeys_partial_update": Doc(
        "Rename a passkey", "Changes one of the caller's passkeys' `name`.", errors=(E.InvalidParametersError,)),
    "auth_passkeys_destroy": Doc(
        "Delete a passkey", "Deletes one of the caller's passkeys; needs the `password`.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError)),
    "auth_events_list": Doc(
        "Read one's security log",
        "The caller's own security events of the last 90 days, newest first, one page at a time: sign-ins (with "
        "address, user agent and terminal), failed sign-ins and lockouts, password and e-mail changes, second "
        "factor changes and app authorizations. Needs the user's own sign-in.",
        errors=(E.InvalidParametersError,)),
    # --- users as records
    "users_list": Doc(
        "List users (operators)",
        "Every user, one page at a time, for operators who may view users.", errors=(E.InvalidParametersError,)),
    "users_search_user_list": Doc(
        "Search users (operators)",
        "Users filtered by parts of `loginName`, `userName` (real name), `nickName` or `email` (case-insensitive), "
        "and by exact `status`, `role` and `userType` (the tier in force), one page at a time. Operators who may "
        "view users; `GET /users` takes the same filters.", errors=(E.InvalidParametersError,)),
    "users_retrieve": Doc(
        "Read a user",
        "Anyone reads the public profile; the user and operators read the full record. Deleted users are 1009 "
        "except to operators.", errors=(E.InvalidParametersError,), data={"anyOf": [_USER, _PUBLIC_USER]}),
    "users_create": Doc(
        "Create a user by name",
        "Without operator rights this is a sign-up for the login name in the path (counted like `POST "
        "/auth/register`) and answers the new record with 201. Operators who may add users may also set "
        "`status`, `role` and `userType`.",
        errors=(E.InvalidParametersError, E.TooManyRequestsError, E.LoginNameTakenError, E.EmailTakenError,
                E.PermissionDeniedError)),
    "users_update": Doc("Change a user", _RECORD_UPDATE, errors=_UPDATE_ERRORS),
    "users_partial_update": Doc("Change a user", _RECORD_UPDATE, errors=_UPDATE_ERRORS),
    "users_destroy": Doc(
        "Delete a user",
        "Marks the account deleted: its sessions and app tokens end, its name stays taken. The user themself, or "
        "an operator who may change statuses."),
    "users_pwd_update": Doc(
        "Set a password",
        "With `old_password` (seed 004: `oldpwd`) the user changes their own password and gets fresh tokens. An "
        "operator who may set passwords sets another user's without it: every session of that user ends and the "
        "reply is `data: null`.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError), data=_TOKENS,
        nullable=True),
    "users_email_update": Doc(
        "Change the e-mail address",
        "Needs the current `password` (a wrong one counts toward the sign-in lockout). A code is mailed to the new "
        "address; the change happens when it comes back (`POST .../email/verify`). The reply is the same whether "
        "or not the address is taken.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError)),
    "users_email_verify_create": Doc(
        "Confirm the new e-mail address",
        "`sid`, the code mailed to the new address. Answers the updated record.",
        errors=(E.InvalidParametersError, E.InvalidSecretError, E.EmailTakenError)),
    # --- e-mailed codes
    "users_active_update": Doc(
        "Activate an account", "`sid`, the activation code mailed at sign-up. The address becomes verified.",
        errors=(E.InvalidParametersError, E.InvalidSecretError)),
    "users_active_resend_create": Doc(
        "Mail a new activation code",
        "The reply is the same for every name, so it tells nothing about which accounts exist. Limited per name "
        "and per address (1029).", errors=(E.TooManyRequestsError,)),
    "users_forget_pwd_update": Doc(
        "Mail a password-reset code",
        "Mails a reset code (valid one hour) to an active account with an address. The reply is the same either "
        "way. Limited per name and per address (1029).", errors=(E.TooManyRequestsError,)),
    "users_pwd_reset_update": Doc(
        "Reset the password with a mailed code",
        "`sid` and the new `password`. Every session and app token of the account ends.",
        errors=(E.InvalidParametersError, E.InvalidSecretError)),
    "users_pwd_validate_retrieve": Doc(
        "Check a password",
        "Whether `pwd` is the password of the login name in the path (8004 when not). Counted like a sign-in.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError, E.AccountNotActivatedError,
                E.AccountDisabledError)),
    "users_pwd_validate_create": Doc(
        "Check a password",
        "Whether `pwd` is the password of the login name in the path (8004 when not). Counted like a sign-in.",
        errors=(E.InvalidParametersError, E.WrongPasswordError, E.TooManyRequestsError, E.AccountNotActivatedError,
                E.AccountDisabledError)),
    # --- developer apps
    "developer_apps_list": Doc(
        "List one's OAuth apps",
        "The caller's OAuth applications, one page at a time. Needs the user's own sign-in (an app's token gets "
        "7006).", errors=(E.InvalidParametersError,)),
    "developer_apps_create": Doc(
        "Register an OAuth app",
        f"An authorization-code app owned by the caller. {_APP_INPUT} `client_type` is `confidential` (a server "
        "that keeps a secret; the default) or `public` (a native or single-page app: no secret, PKCE only, redirect "
        "URIs on https, a loopback IP or a private-use scheme). Answers 201 with the client secret, shown this "
        "once.", errors=(E.InvalidParametersError,), data=_ISSUED),
    "developer_apps_retrieve": Doc("Read one of one's OAuth apps", "Never the secret. Others' apps are 1009."),
    "developer_apps_update": Doc("Change an OAuth app", _APP_INPUT, errors=(E.InvalidParametersError,)),
    "developer_apps_partial_update": Doc("Change an OAuth app", _APP_INPUT, errors=(E.InvalidParametersError,)),
    "developer_apps_destroy": Doc(
        "Delete an OAuth app", "Deletes the app and revokes every token and code it holds."),
    "developer_apps_rotate_secret_create": Doc(
        "Issue a new client secret", "The new secret, shown this once; the old one stops working at once. A public "
        "client has no secret (1007).", errors=(E.InvalidParametersError,), data=_ISSUED),
    # --- seed 001 OAuth
    "oauth_retrieve": Doc(
        "Start the seed 001 sign-in",
        "Redirects the browser to the consent page for the app `secret_id` (or `client_id`), which returns to "
        "`redirect_uri?code=...&state=...`. An unknown app is 1009; an unregistered `redirect_uri` is 1007. "
        "New apps should use the standard flow at `/oauth/authorize/` with PKCE.",
        errors=(E.InvalidParametersError, E.NotFoundError)),
    "oauth_create": Doc(
        "Exchange a seed 001 code",
        "The app's server trades `authorization_code` with its `secret_id` and `secret_value` for the user's "
        "`{username, email}`. A wrong secret is 7005; an unknown, used, expired or foreign code 8005.",
        errors=(E.InvalidParametersError, E.NotAuthenticatedError, E.NotFoundError, E.InvalidSecretError)),
}
