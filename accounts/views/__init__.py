"""The accounts API, one module per area: auth (sign-in, sessions, the own profile) and users."""
