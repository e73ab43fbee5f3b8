"""What the client tells: stats, the retry log, observers, OpenTelemetry metrics."""
