"""Tests that run on uvloop as well as asyncio's own event loop (see conftest.py)."""
