"""The time bands a resident may ask to be phoned back in: the morning and afternoon of working days (Monday to
Friday, Japan time), cut from ``MADOGUCHI_CALLBACK_HOURS``; a band is offered while at least
``callback_min_lead_s`` of it is left, for ``callback_days`` working days from today. Pure: ``now`` comes from
the step (the injected clock). Public holidays are not known here: a band on one is offered all the same."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from server.settings import Settings
from signaling.protocol.models import JST, CallbackBand, CallbackBandRef, CallbackPart

PARTS: tuple[CallbackPart, ...] = ("am", "pm")


def band_at(day: date, part: CallbackPart, settings: Settings, now: datetime) -> CallbackBand:
    start_h, end_h = settings.callback_hours[part]
    return CallbackBand(day=day, part=part, day_offset=(day - now.astimezone(JST).date()).days,
                        starts_at=datetime.combine(day, time(start_h), JST).astimezone(now.tzinfo),
                        ends_at=datetime.combine(day, time(end_h), JST).astimezone(now.tzinfo))


def offered_bands(settings: Settings, now: datetime) -> list[CallbackBand]:
    out: list[CallbackBand] = []
    day, working_days = now.astimezone(JST).date(), 0
    while working_days < settings.callback_days:
        if day.weekday() < 5:
            for part in PARTS:
                band = band_at(day, part, settings, now)
                if (band.ends_at - now).total_seconds() >= settings.callback_min_lead_s:
                    out.append(band)
            working_days += 1
        day += timedelta(days=1)
    return out


def find_band(settings: Settings, now: datetime, ref: CallbackBandRef) -> CallbackBand | None:
    """The offered band the resident picked, or None when it is not (or no longer) offered."""
    return next((b for b in offered_bands(settings, now) if (b.day, b.part) == (ref.day, ref.part)), None)
