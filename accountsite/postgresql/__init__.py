"""The PostgreSQL backend (base.DatabaseWrapper), which the settings name for any PostgreSQL DATABASE_URL."""
