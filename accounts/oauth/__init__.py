"""The OAuth2 / OpenID Connect provider, on django-oauth-toolkit: developers' apps,
the sign-in and consent pages, introspection, revocation, the seed 001 flow and the OIDC signing key."""
