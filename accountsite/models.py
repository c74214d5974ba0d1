"""The platform's tables: brute-force counters when no shared cache holds them."""

from django.db import models


class RateCounter(models.Model):
    """One window of one limit (accountsite.ratelimit), kept here when the cache is not shared by every
    worker process (no Redis): the database is the one store they all see. Times are Unix seconds, as
    the cache store keeps them."""

    key = models.CharField(max_length=120, primary_key=True)
    hits = models.PositiveIntegerField()
    started = models.FloatField()
    expires = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
