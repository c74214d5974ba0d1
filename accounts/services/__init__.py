"""Every change to accounts, one module per noun: users, sessions, passwords, codes (e-mailed secrets),
email and imports. The API, the admin and the management commands all call these functions; each writes
its audit row in the same transaction as the change."""
