"""I/O with no widgets: server REST calls, credential storage."""
