"""High-contrast kiosk theme: colours (WCAG AAA pairs), sizes in millimetres, text that scales.

Sizes are physical: a touch target is at least 15 mm on any monitor
(:meth:`Metrics.mm` uses the screen's physical DPI, or ``screen_dpi`` from the
settings when a monitor reports a wrong size). Text is sized from the window
height and the resident's "larger text" choice.
"""

from __future__ import annotations

from dataclasses import dataclass

FONT_FAMILY = "Noto Sans CJK JP"
MIN_TOUCH_MM = 15.0

BG = "#FFFFFF"
TEXT = "#000000"
SOFT_TEXT = "#2B2B2B"
PANEL = "#EEF2F7"
PRIMARY = "#0B3D91"      # deep blue; white on it 10.4:1
PRIMARY_TEXT = "#FFFFFF"
DANGER = "#9E1318"       # dark red; white on it 8.6:1
GENERAL = "#3E2A72"      # "not sure": dark violet, white on it 11:1
CHECKED = "#0B5D1E"      # chosen toggles: dark green, white on it 7.9:1
FOCUS = "#C2410C"        # focus ring, 4.6:1 on white
OK = "#0B5D1E"
BAD = "#9E1318"
OVERLAY = "rgba(0, 0, 0, 215)"

# (foreground, background) pairs the theme uses for text; tests check each is >= 7:1 (WCAG AAA)
TEXT_PAIRS = [(TEXT, BG), (SOFT_TEXT, BG), (PRIMARY_TEXT, PRIMARY), (PRIMARY_TEXT, DANGER),
              (PRIMARY_TEXT, GENERAL), (PRIMARY_TEXT, CHECKED), (TEXT, PANEL), (OK, BG), (BAD, BG)]


def _lum(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))

    def ch(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_lum(fg), _lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class Metrics:
    dpi: float = 96.0
    base_px: int = 30  # body text

    def mm(self, millimetres: float) -> int:
        return round(millimetres * self.dpi / 25.4)

    def px(self, factor: float) -> int:
        return round(self.base_px * factor)

    @property
    def touch(self) -> int:
        """Smallest touch target side, with a little margin above 15 mm."""
        return self.mm(MIN_TOUCH_MM + 1)


def base_text_px(window_height: int, scale: float) -> int:
    """Body text from the window height: ~30 px at 800 px high, ~40 px at 1080 px; times the chosen scale."""
    return max(20, round(min(60, max(24, window_height / 27)) * scale))


def stylesheet(m: Metrics) -> str:
    b = m.base_px
    touch = m.touch
    radius = m.mm(2.5)
    return f"""
QWidget {{ background: {BG}; color: {TEXT}; font-family: "{FONT_FAMILY}"; font-size: {b}px; }}
QLabel {{ background: transparent; }}
QLabel[role="title"] {{ font-size: {m.px(1.55)}px; font-weight: bold; }}
QLabel[role="hero"] {{ font-size: {m.px(2.1)}px; font-weight: bold; color: {PRIMARY}; }}
QLabel[role="lead"] {{ font-size: {m.px(1.1)}px; color: {SOFT_TEXT}; }}
QLabel[role="big"] {{ font-size: {m.px(1.9)}px; font-weight: bold; }}
QLabel[role="small"] {{ font-size: {m.px(0.8)}px; color: {SOFT_TEXT}; }}
QLabel[role="ok"] {{ color: {OK}; font-weight: bold; }}
QLabel[role="bad"] {{ color: {BAD}; font-weight: bold; }}
QLabel[role="banner"] {{ background: {PRIMARY}; color: {PRIMARY_TEXT}; font-weight: bold;
    padding: {m.mm(2)}px {m.mm(4)}px; border-radius: {radius}px; }}
QLabel[role="alert"] {{ background: {DANGER}; color: {PRIMARY_TEXT}; font-weight: bold;
    padding: {m.mm(2)}px {m.mm(4)}px; border-radius: {radius}px; }}
QFrame[role="card"] {{ background: {BG}; border: 4px solid {TEXT}; border-radius: {radius * 2}px; }}
QFrame[role="panel"] {{ background: {PANEL}; border-radius: {radius}px; }}
QFrame[role="panel"] QLabel {{ background: transparent; }}
QFrame[role="topbar"] {{ background: {PANEL}; border-bottom: 3px solid {TEXT}; }}
QFrame[role="topbar"] QLabel {{ font-size: {m.px(0.85)}px; font-weight: bold; }}
QWidget#overlay {{ background: {OVERLAY}; }}
QPushButton, QToolButton {{ background: {BG}; color: {TEXT}; border: 4px solid {TEXT}; border-radius: {radius}px;
    min-height: {touch}px; min-width: {touch}px; padding: {m.mm(1.5)}px {m.mm(4)}px;
    font-size: {m.px(1.05)}px; font-weight: bold; }}
QPushButton[kind="primary"] {{ background: {PRIMARY}; color: {PRIMARY_TEXT}; border-color: {PRIMARY};
    font-size: {m.px(1.3)}px; }}
QPushButton[kind="hero"] {{ background: {PRIMARY}; color: {PRIMARY_TEXT}; border-color: {PRIMARY};
    font-size: {m.px(2.0)}px; min-height: {m.mm(32)}px; padding: {m.mm(3)}px {m.mm(12)}px; }}
QPushButton[kind="danger"] {{ background: {DANGER}; color: {PRIMARY_TEXT}; border-color: {DANGER};
    font-size: {m.px(1.2)}px; }}
QPushButton[kind="small"] {{ font-size: {m.px(0.85)}px; padding: {m.mm(1)}px {m.mm(3)}px; }}
QPushButton[kind="key"] {{ font-size: {m.px(1.0)}px; padding: 0px; min-height: {m.mm(MIN_TOUCH_MM) - 8}px;
    max-height: {m.mm(MIN_TOUCH_MM) - 8}px; min-width: {m.mm(MIN_TOUCH_MM) - 8}px; }}
QPushButton[kind="key"][mark="true"] {{ background: {PANEL}; border-style: dashed; }}
QPushButton[kind="key"]:checked {{ background: {CHECKED}; color: {PRIMARY_TEXT}; }}
QPushButton[kind="phrase"] {{ font-size: {m.px(0.75)}px; padding: {m.mm(0.5)}px {m.mm(1)}px; }}
QPushButton[kind="service"] {{ text-align: left; padding: {m.mm(2)}px {m.mm(4)}px; }}
QPushButton[kind="general"] {{ background: {GENERAL}; color: {PRIMARY_TEXT}; border-color: {GENERAL};
    text-align: left; padding: {m.mm(2)}px {m.mm(4)}px; }}
QPushButton[kind="general"] QLabel {{ color: {PRIMARY_TEXT}; }}
QPushButton[kind="service"] QLabel {{ color: {TEXT}; }}
QPushButton[kind="service"] QLabel[role="lead"] {{ font-size: {m.px(0.85)}px; color: {SOFT_TEXT}; }}
QPushButton[kind="general"] QLabel[role="lead"] {{ font-size: {m.px(0.85)}px; color: {PRIMARY_TEXT}; }}
QPushButton:checked, QToolButton:checked {{ background: {CHECKED}; color: {PRIMARY_TEXT}; border-color: {TEXT}; }}
QPushButton:pressed {{ background: {PANEL}; color: {TEXT}; }}
QPushButton:focus, QToolButton:focus {{ border: 6px solid {FOCUS}; }}
QPushButton:disabled {{ background: #D9D9D9; color: #333333; border-color: #595959; }}
QLineEdit {{ border: 4px solid {TEXT}; border-radius: {radius}px; padding: {m.mm(1.5)}px;
    min-height: {touch}px; font-size: {m.px(1.05)}px; }}
QLineEdit:focus {{ border: 6px solid {FOCUS}; }}
QListWidget {{ border: 3px solid {TEXT}; border-radius: {radius}px; font-size: {m.px(1.0)}px; }}
"""
