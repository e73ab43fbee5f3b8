"""One request for many callers: coalescing and the short page cache."""
