"""HTTP and WebSocket edge: translate domain errors to status codes and error frames here only."""
