"""A client's running counts: the transport counts requests sent, the retry loop retries."""

from __future__ import annotations

import attrs

__all__ = ["ClientStats"]


@attrs.define
class ClientStats:
    """Running counts for one client, e.g. for a job's summary or a metrics exporter.

    Attributes:
        requests: Attempts sent (aiohttp's own quiet resend of a dropped ``GET`` is not
            counted).
        retries: Attempts that were retries of a failed one.
    """

    requests: int = 0
    retries: int = 0
