"""``/api-docs``: the REST API's reference for IT staff and administrators, served by the server itself."""
