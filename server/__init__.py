"""Madoguchi server: REST API, signaling hub, queue and routing, monitoring, reports."""

__version__ = "0.1.0"
