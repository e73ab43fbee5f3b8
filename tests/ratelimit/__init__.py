"""The client-side rate limit: the in-process budget, the one shared through Redis, the 429 hold."""
