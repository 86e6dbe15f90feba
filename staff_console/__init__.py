"""The staff console: the specialist's side of Madoguchi."""

__version__ = "0.1.0"
