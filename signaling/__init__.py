"""Madoguchi signaling: the wire protocol, the server hub and the client side.

Import direction: apps -> signaling -> signaling.protocol. The server imports
``signaling.protocol`` and ``signaling.hub`` only, never ``peer``/``media``/``qt``.
"""
