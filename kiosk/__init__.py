"""The kiosk at a branch office: the resident's side of Madoguchi."""

__version__ = "0.1.0"
