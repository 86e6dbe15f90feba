"""Whose data an administrator may see and change (issue 13 item 1).

Administrators of the municipality that hosts the shared window (``MADOGUCHI_REGION_ADMIN_MUNICIPALITY``,
Kitami by default) administer the whole region: every municipality, its branches, kiosks and staff, and the
services, which are region-wide (one catalogue for every kiosk). An administrator of any other municipality
sees and changes only their own municipality's name and privacy setting, branches, kiosks and staff, and reads
the services without changing them. The CLI (run by IT on the server) is not scoped.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.db.models import Staff


class OutOfScope(Exception):
    """The object belongs to another municipality than the administrator's (HTTP 403)."""


@dataclass(frozen=True)
class Scope:
    actor: str  # "staff:<id>": who is written to the audit log
    municipality_id: int
    municipality_code: str
    region: bool  # the whole region (the host municipality's administrators)

    @classmethod
    def of(cls, staff: Staff, region_municipality: str) -> Scope:
        code = staff.municipality.code
        return cls(f"staff:{staff.id}", staff.municipality_id, code, code == region_municipality)

    def allows(self, municipality_id: int) -> bool:
        return self.region or municipality_id == self.municipality_id

    def check(self, municipality_id: int) -> None:
        if not self.allows(municipality_id):
            raise OutOfScope("this belongs to another municipality: only its own administrators or the region's "
                             "may change it")

    def check_region(self) -> None:
        if not self.region:
            raise OutOfScope("only the region's administrators may change the region-wide services")
