"""``python -m kiosk`` and the packaged ``madoguchi-kiosk`` program (scripts/package.py builds it from this file)."""

from kiosk.cli import app

if __name__ == "__main__":
    app(prog_name="madoguchi-kiosk")
