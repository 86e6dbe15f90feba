"""The staff console: the specialist's side of Madoguchi."""

from pathlib import Path

__version__ = "0.1.0"

I18N = Path(__file__).resolve().parent / "i18n"  # the console's catalogs (one JSON per language)
