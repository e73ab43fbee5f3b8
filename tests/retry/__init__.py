"""Retries: the loop on its own, through the client against faults, and the retry budget."""
