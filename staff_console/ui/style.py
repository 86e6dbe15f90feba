"""One stylesheet: calm colours, large type, big targets (the console is used all day)."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

STATUS_BG = {"available": "#1b7f3b", "offered": "#c25e00", "in_call": "#1f5fbf", "wrap_up": "#7a3db8",
             "away": "#5f6368", "offline": "#9a9a9a"}

QSS = """
QWidget { font-size: 14px; color: #1d1d1f; }
QMainWindow, QDialog { background: #f4f5f7; }
QFrame#header { background: #ffffff; border-bottom: 1px solid #d9dce1; }
QLabel#name { font-size: 20px; font-weight: 600; }
QLabel#sub { color: #55595f; }
QLabel#badge { background: #e8eefc; color: #1f3f8f; border-radius: 8px; padding: 2px 8px; font-size: 12px; }
QLabel#statusPill { color: white; border-radius: 14px; padding: 4px 14px; font-size: 16px; font-weight: 600; }
QLabel#banner { background: #fff4ce; color: #5c4400; padding: 8px 12px; border-bottom: 1px solid #e8d48a; }
QWidget#branch_bar { background: #e6f4ea; border-bottom: 1px solid #9fd1ad; }
QLabel#branch_notice { color: #0d4a22; font-size: 16px; font-weight: 600; }
QLabel#bannerAlert { background: #fde7e9; color: #8a1020; padding: 8px 12px; border-bottom: 1px solid #f1b8be; }
QLabel#needs_banner { background: #fff4d6; color: #6b4a00; padding: 6px 10px; border-radius: 6px; font-weight: 600; }
QLabel#whisper { background: #efe6fb; color: #4b2380; padding: 6px 10px; border-radius: 6px; font-weight: 600; }
QLabel#title { font-size: 18px; font-weight: 600; }
QLabel#case_linked { font-size: 16px; font-weight: 600; color: #1f3f8f; }
QLabel#big { font-size: 26px; font-weight: 700; }
QLabel#hint { color: #55595f; }
QLabel#error { color: #b00020; font-weight: 600; }
QLabel#print_status { font-weight: 600; padding: 6px 8px; border-radius: 6px; background: #e8eefc; color: #1f3f8f; }
QLabel#print_status[result="done"] { background: #e6f4ea; color: #0d4a22; }
QLabel#print_status[result="bad"] { background: #fde7e9; color: #8a1020; }
QLabel#timer { font-size: 20px; font-weight: 600; font-family: monospace; }
QLabel#quality { color: #33363b; font-family: monospace; }
QLabel#idle { font-size: 22px; color: #3c4043; }
QGroupBox { font-weight: 600; border: 1px solid #d9dce1; border-radius: 6px; margin-top: 12px; padding-top: 8px;
            background: #ffffff; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }
QPushButton { padding: 7px 16px; border-radius: 6px; border: 1px solid #c4c8ce; background: #ffffff;
              min-height: 22px; }
QPushButton:hover { background: #f0f3f8; }
QPushButton:disabled { color: #9aa0a6; background: #f1f3f4; }
QPushButton:checked { background: #fde7e9; border-color: #d93025; color: #8a1020; }
QPushButton#primary { background: #1f5fbf; color: white; border-color: #1f5fbf; font-weight: 600; }
QPushButton#primary:hover { background: #1a4fa0; }
QPushButton#primary:disabled { background: #9db6de; border-color: #9db6de; }
QPushButton#accept { background: #1b7f3b; color: white; border-color: #1b7f3b; font-size: 18px; font-weight: 700;
                     padding: 10px 28px; }
QPushButton#danger { background: #c5221f; color: white; border-color: #c5221f; font-weight: 600; }
QPushButton#danger:hover { background: #a51b18; }
QPushButton#whisperBtn:checked { background: #7a3db8; color: white; border-color: #7a3db8; }
QTableView { background: #ffffff; alternate-background-color: #f7f8fa; gridline-color: #e3e5e8;
             selection-background-color: #d2e3fc; selection-color: #1d1d1f; }
QHeaderView::section { background: #eef0f3; padding: 5px; border: none; border-bottom: 1px solid #d9dce1;
                       font-weight: 600; }
QListWidget { background: #ffffff; }
QTabWidget::pane { border: 1px solid #d9dce1; background: #ffffff; }
QTabBar::tab { padding: 8px 18px; }
QTabBar::tab:selected { font-weight: 600; }
QProgressBar { border: 1px solid #c4c8ce; border-radius: 5px; text-align: center; height: 16px; }
QProgressBar::chunk { background: #c25e00; border-radius: 4px; }
"""


def apply(app: QApplication) -> None:
    font = QFont()
    font.setFamilies(["Noto Sans CJK JP", "Noto Sans JP", "Yu Gothic UI", "Meiryo", "Hiragino Sans", "sans-serif"])
    font.setPointSize(11)
    app.setFont(font)
    app.setStyleSheet(QSS)
