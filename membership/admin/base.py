"""What the back office's membership pages share: links to admin pages and filtered lists."""

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse


def admin_url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url
