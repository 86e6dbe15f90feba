"""``python -m staff_console`` and the packaged ``madoguchi-console`` program (scripts/package.py builds it from
this file)."""

from staff_console.cli import app

if __name__ == "__main__":
    app(prog_name="madoguchi-console")
