"""Django's PostgreSQL backend, with datetimes read by psycopg's C loader (base.DatabaseWrapper). The settings
name it as the engine whenever DATABASE_URL is a PostgreSQL one."""
