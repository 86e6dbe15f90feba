"""The report as a print-ready PDF: the HTML printed by headless Chromium (A4 landscape, fonts embedded).

Chromium rather than WeasyPrint: it is the engine the HTML report is already
tested in (one renderer, one layout), it is already installed for the browser
tests, it embeds subsets of the Japanese fonts it used (Noto Sans CJK JP from
``fonts-noto-cjk``), and it needs no extra native libraries (WeasyPrint needs
Pango and its own CSS subset). The browser runs with JavaScript off and every
network request refused: the HTML is self-contained.

Needs the ``playwright`` package (the ``pdf`` extra) and a Chromium binary at
``MADOGUCHI_REPORT_CHROMIUM``. One PDF is printed at a time per process.
"""

from __future__ import annotations

import asyncio
import os
from html import escape
from pathlib import Path

CHROMIUM_ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage"]
_one_at_a_time = asyncio.Lock()


class PdfUnavailable(RuntimeError):
    """This machine cannot print PDFs (no playwright package or no Chromium); the message says what to install."""


def footer(title: str) -> str:
    """Playwright footer template: title left, page n / total right (its own fonts: inline style only)."""
    style = ("font-family: 'Noto Sans CJK JP', sans-serif; font-size: 7.5px; color: #555; width: 100%; "
             "margin: 0 11mm; display: flex; justify-content: space-between;")
    return (f'<div style="{style}"><span>{escape(title)}</span>'
            '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')


def _is_file(path: str) -> bool:
    return Path(path).is_file()


async def html_to_pdf(html: str, chromium: str, title: str) -> bytes:
    try:
        from playwright.async_api import Route, async_playwright
    except ImportError:
        raise PdfUnavailable("PDF output needs the playwright package: pip install 'madoguchi[pdf]'") from None
    if not _is_file(chromium):
        raise PdfUnavailable(f"PDF output needs Chromium at {chromium} (set MADOGUCHI_REPORT_CHROMIUM, "
                             "or apt-get install chromium)")

    async def refuse(route: Route) -> None:
        await route.abort()

    # Chromium refuses to start as root with its sandbox on; as any other user the sandbox stays on.
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    async with _one_at_a_time, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, headless=True, args=args)
        try:
            context = await browser.new_context(java_script_enabled=False)
            await context.route("**/*", refuse)  # data: URIs (the charts) are not requests
            page = await context.new_page()
            await page.set_content(html, wait_until="load")
            return await page.pdf(prefer_css_page_size=True, print_background=True, display_header_footer=True,
                                  header_template="<span></span>", footer_template=footer(title))
        finally:
            await browser.close()
