"""The platform's tables: brute-force counters when no shared cache holds them, and the outbox."""

from django.db import models
from django.utils import timezone


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


class OutboxTask(models.Model):
    """Work that must happen after a request and must not be lost: delivering an e-mail, or preparing one
    (accountsite.outbox). Written in the transaction of the change it belongs to, run by
    `manage.py run_outbox` (or right after the commit in development), retried with backoff until it
    succeeds, and deleted then."""

    task = models.CharField(max_length=200, help_text="dotted path of the function to call")
    arguments = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
