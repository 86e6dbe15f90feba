#!/usr/bin/env bash
# System libraries Madoguchi needs beside its Python packages (Debian/Ubuntu names):
#   libpulse0, libegl1, libxkbcommon-x11-0 ... QtMultimedia / Qt offscreen platform
#   chromium ................................. headless browser tests of /monitor and the report; prints the report PDF
#   poppler-utils ............................ pdfinfo/pdffonts/pdftotext/pdftoppm: the report PDF test reads its pages
#   fonts-noto-cjk ........................... Japanese text in the windows, screenshots and charts
#   fonts-dejavu-core ........................ Latin letters and digits in PDFs the console draws (the case card):
#                                              Noto CJK's digits lose their text mapping in Qt's PDF output
#   coturn ................................... TURN server: the tests start `turnserver` themselves (relay-only
#                                              calls, credential failures); production: deploy/coturn/
#   systemd .................................. a real `systemd --user` manager for the kiosk unit's test
#                                              (tests/packaging/test_systemd_unit.py; deploy/systemd/)
#   open-jtalk, open-jtalk-mecab-naist-jdic .. the kiosk's spoken guidance in Japanese (kiosk/speech/; the voice
#                                              itself, "Mei", ships in kiosk/speech/voices/: Debian's
#                                              hts-voice-nitech-jp-atr503-m001 is not in its main archive)
#   espeak-ng ................................ the kiosk's spoken guidance in English and any other language file
#   cups, cups-client ........................ the kiosk prints through CUPS (kiosk/services/printer.py); the
#                                              tests start a private cupsd of their own (tests/cups.py)
#   printer-driver-cups-pdf .................. a PDF "printer": the print tests read its output back page by page
# Installs what is missing when run as root with apt-get; otherwise says what to install.
set -u
PKGS=(libpulse0 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 chromium fonts-noto-cjk fonts-dejavu-core poppler-utils coturn
      systemd open-jtalk open-jtalk-mecab-naist-jdic espeak-ng cups cups-client printer-driver-cups-pdf)
command -v dpkg-query >/dev/null 2>&1 || { echo "sysdeps: not a Debian system; install the equivalents of: ${PKGS[*]}"; exit 0; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "sysdeps: please install: ${missing[*]} (sudo apt-get install ...)" >&2
fi
