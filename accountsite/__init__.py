"""accountsite: the account back end of a data and code hosting platform."""

VERSION = "1.1.0"
