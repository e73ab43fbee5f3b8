"""Retries: the policy, the retry loop on tenacity, deadlines, the retry budget."""
