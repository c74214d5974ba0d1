"""Filters that settings.LOGGING names. Standard library only: logging is configured before the apps load."""

import logging


class ClientMistake(logging.Filter):
    """One line at WARNING, without the traceback, for what Django logs as an ERROR with its traceback but is
    a client's mistake already answered with a 400 or a 413: a Host header that is not in ALLOWED_HOSTS, a form
    with more fields or files than Django reads, sent to a view outside DRF (the OAuth endpoints). Scanners send
    thousands, and each would fill the log with a stack and could page whoever watches for errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
