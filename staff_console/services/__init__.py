"""I/O with no widgets: the server's REST API for login, notes, history, colleagues."""
