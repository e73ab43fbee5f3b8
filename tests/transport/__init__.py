"""The transports: the client's own aiohttp one and the seam for any other (MockTransport)."""
