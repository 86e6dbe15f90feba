"""A real CUPS scheduler of the test's own (Debian ``cups``), with real queues: nothing of the machine's CUPS is used.

``cupsd -f -c <dir>/cupsd.conf -s <dir>/cups-files.conf`` runs with every directory (and its printcap) in a
temporary folder of its own (as CUPS's own test suite, run-stp-tests.sh, runs it), listening on a socket there
and on a free loopback port. Its ``ServerBin`` links the system's filters and backends and adds one test
backend; the queues:

``pdf``       the Debian ``printer-driver-cups-pdf`` backend with its PPD: a PDF goes through CUPS's filters
              (pdftopdf, pdftops) and cups-pdf's Ghostscript, and comes out as a new PDF in ``out_dir`` —
              the test reads it back page by page (pdfinfo, pdftotext). cups-pdf reads its settings from
              ``/etc/cups/cups-pdf-<name>.conf``, ``<name>`` taken from the device URI ``cups-pdf:/<name>``
              (a path compiled into cups-pdf): the fixture writes one of its own there and removes it after.
              The queue renders PDF to PostScript with ``pdftocairo`` (``pdftops-renderer-default``): CUPS's
              default (Ghostscript) drops the text's Unicode mapping of the embedded Japanese fonts, so the
              printed PDF would look right but pdftotext would read nothing back.
``paperout``  the test backend ``madoguchi-paperout``: says ``STATE: +media-empty-error`` as a real printer's
              backend does when its tray is empty, then waits for paper (until the job is cancelled).
``paused``    a queue stopped with ``cupsdisable`` (what a printer switched off in CUPS looks like).
``held``      the test backend ``madoguchi-hold``: the job stays printing until the test calls
              :meth:`Cups.release` (a screenshot of 「印刷しています」 without a race), then ends well.

Needs root (cupsd and the cups-pdf backend run as root) and the Debian packages cups, cups-client,
printer-driver-cups-pdf (scripts/sysdeps.sh).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.server_process import free_port
from tests.support import eventually

CUPSD = "/usr/sbin/cupsd"
CUPS_PDF_PPD = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
PAPER_OUT_BACKEND = """#!/bin/sh
# A printer out of paper, as a real backend reports it; then it waits for paper until the job is cancelled.
if [ $# -eq 0 ]; then echo 'direct madoguchi-paperout "Unknown" "Out-of-paper test printer"'; exit 0; fi
echo "STATE: +media-empty-error" >&2
echo "ERROR: Out of paper" >&2
exec sleep 3600
"""
HOLD_BACKEND = """#!/bin/sh
# A printer that prints when the test says so: the job stays "printing" until the file named in the device URI
# (madoguchi-hold:/path) exists; then it takes the data and ends well.
if [ $# -eq 0 ]; then echo 'direct madoguchi-hold "Unknown" "Held test printer"'; exit 0; fi
release="${DEVICE_URI#madoguchi-hold:}"
while [ ! -e "$release" ]; do sleep 0.05; done
cat "${6:--}" > /dev/null
exit 0
"""


@dataclass
class Cups:
    proc: subprocess.Popen[bytes]
    root: Path
    port: int
    cups_pdf_conf: Path

    @property
    def socket(self) -> str:
        return str(self.root / "cups.sock")

    @property
    def server(self) -> str:
        """What the kiosk's ``cups_server`` setting names: here the loopback port (the socket works as well)."""
        return f"127.0.0.1:{self.port}"

    @property
    def release_file(self) -> Path:
        return self.root / "tmp" / "release-held"

    def release(self) -> None:
        """The ``held`` printer prints what it holds (and whatever comes after, until :meth:`hold`)."""
        self.release_file.touch()

    def hold(self) -> None:
        self.release_file.unlink(missing_ok=True)

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CUPS_SERVER": self.socket, "CUPS_STATEDIR": str(self.root / "state"),
                "LC_ALL": "C"}

    def admin(self, *args: str) -> None:
        """lpadmin, cupsenable, cupsdisable, ... against this scheduler."""
        subprocess.run(args, env=self.env(), check=True, capture_output=True, timeout=30)

    def printed(self, job_id: int) -> Path:
        """The PDF cups-pdf wrote for ``job_id``."""
        found = sorted(self.out_dir.glob(f"*-job_{job_id}.pdf"))
        assert found, f"no output for job {job_id} in {sorted(p.name for p in self.out_dir.iterdir())}"
        return found[0]

    def log(self) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text("utf-8", errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.cups_pdf_conf.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def available() -> str | None:
    """Why a private CUPS cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "cupsd and the cups-pdf backend need root"
    for path in (CUPSD, CUPS_PDF_PPD, "/usr/lib/cups/backend/cups-pdf", "/usr/sbin/lpadmin"):
        if not Path(path).exists():
            return f"{path} missing: install cups, cups-client, printer-driver-cups-pdf (scripts/sysdeps.sh)"
    return None


def _listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


async def start_cups() -> Cups:
    root, port, conf, name = await asyncio.to_thread(_lay_out)
    args = [CUPSD, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: ASYNC220
                            start_new_session=True)  # returns at once; stop() is synchronous (teardown)
    cups = Cups(proc, root, port, conf)
    try:
        await eventually(lambda: proc.poll() is not None or _listening(cups.socket), what="cupsd listening")
        if proc.poll() is not None:
            raise RuntimeError(f"cupsd exited with {proc.returncode}:\n{cups.log()}")
        await asyncio.to_thread(_queues, cups, name)
    except BaseException:
        cups.stop()
        raise
    return cups


def _lay_out() -> tuple[Path, int, Path, str]:
    """The scheduler's folder, configuration and ServerBin, and cups-pdf's configuration: (root, port, the
    cups-pdf configuration file, its name)."""
    # a folder in /tmp, not pytest's tmp_path: the filters run as user lp and must reach the spool, and pytest's
    # base folder is 0700
    root = Path(tempfile.mkdtemp(prefix="madoguchi-cups-"))
    for sub in ("spool", "cache", "state", "log", "ppd", "bin/backend", "cpspool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "out"):  # filters run as lp, cups-pdf as the job's user: both write here
        (root / sub).mkdir(mode=0o1777, exist_ok=True)
        (root / sub).chmod(0o1777)
    root.chmod(0o755)
    for item in Path("/usr/lib/cups").iterdir():
        if item.name != "backend":
            (root / "bin" / item.name).symlink_to(item)
    for item in Path("/usr/lib/cups/backend").iterdir():
        (root / "bin/backend" / item.name).symlink_to(item)
    for backend, text in (("madoguchi-paperout", PAPER_OUT_BACKEND), ("madoguchi-hold", HOLD_BACKEND)):
        (root / "bin/backend" / backend).write_text(text)
        (root / "bin/backend" / backend).chmod(0o755)
    port = free_port()
    files = {"ServerRoot": root, "RequestRoot": root / "spool", "CacheDir": root / "cache",
             "StateDir": root / "state", "TempDir": root / "tmp", "ServerBin": root / "bin",
             "DataDir": "/usr/share/cups", "AccessLog": root / "log/access_log", "ErrorLog": root / "log/error_log",
             "PageLog": root / "log/page_log", "Printcap": root / "printcap", "User": "lp", "Group": "lp",
             "SystemGroup": "root"}
    (root / "cups-files.conf").write_text("".join(f"{k} {v}\n" for k, v in files.items()))
    (root / "cupsd.conf").write_text(
        f"Listen 127.0.0.1:{port}\nListen {root}/cups.sock\nLogLevel info\nBrowsing No\nWebInterface No\n"
        "<Location />\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n")
    name = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    conf = Path(f"/etc/cups/cups-pdf-{name}.conf")
    conf.write_text(f"Out {root}/out\nAnonDirName {root}/out\nSpool {root}/cpspool\nLabel 0\nUserUMask 0022\n"
                    f"Log {root}/log\nLogType 3\n")
    return root, port, conf, name


def _queues(cups: Cups, name: str) -> None:
    cups.admin("lpadmin", "-p", "pdf", "-E", "-v", f"cups-pdf:/{name}", "-P", CUPS_PDF_PPD,
               "-o", "pdftops-renderer-default=pdftocairo")
    cups.admin("lpadmin", "-p", "paperout", "-E", "-v", "madoguchi-paperout:/")
    cups.admin("lpadmin", "-p", "paused", "-E", "-v", "madoguchi-paperout:/")
    cups.admin("cupsdisable", "paused")
    cups.admin("lpadmin", "-p", "held", "-E", "-v", f"madoguchi-hold:{cups.release_file}")


def pdf_pages_text(path: Path) -> list[str]:
    """The text of each page of a PDF (poppler's pdfinfo and pdftotext)."""
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=30).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(path), "-"], capture_output=True,
                           text=True, check=True, timeout=30).stdout for p in range(1, pages + 1)]


