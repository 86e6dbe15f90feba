"""Closed vocabularies the console offers (stored as codes; the catalogs translate them)."""

from __future__ import annotations

AWAY_REASONS = ("break", "meeting", "training", "paperwork")
# reasons the system sets, shown but not offered in the away menu
SYSTEM_AWAY_REASONS = ("signed_in", "no_answer", "third_party", "coaching", "end_of_shift")
NOTE_CATEGORIES = ("consultation", "information", "procedure", "application", "referral", "complaint", "other")
# partner organisations a resident is most often referred to (stored by their Japanese name)
REFERRAL_ORGS = ("community_support", "guardianship_centre", "employment_centre", "hello_work",
                 "social_welfare_council", "counselling_office")
REFERRAL_ORG_JA = {
    "community_support": "地域包括支援センター",
    "guardianship_centre": "成年後見支援センター",
    "employment_centre": "障害者就業・生活支援センター",
    "hello_work": "ハローワーク",
    "social_welfare_council": "社会福祉協議会",
    "counselling_office": "相談支援事業所",
}
NEEDS = ("sign_language", "written", "large_text", "supporter", "interpreter")
