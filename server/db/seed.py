"""Demo data: Kitami city and four towns, a branch each, three services, demo staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import hash_secret
from server.db.models import Branch, Municipality, Service, Staff

# (code, ja, en, branch code, branch ja, branch en, one-way road km to Kitami city hall — approximate;
#  an administrator corrects Branch.distance_km for the real figures used in the report)
MUNICIPALITIES = [
    ("kitami", "北見市", "Kitami City", "kitami-tokoro", "常呂総合支所", "Tokoro Branch", 33.0),
    ("bihoro", "美幌町", "Bihoro Town", "bihoro", "美幌町役場 窓口", "Bihoro Town Office", 27.0),
    ("tsubetsu", "津別町", "Tsubetsu Town", "tsubetsu", "津別町役場 窓口", "Tsubetsu Town Office", 37.0),
    ("kunneppu", "訓子府町", "Kunneppu Town", "kunneppu", "訓子府町役場 窓口", "Kunneppu Town Office", 17.0),
    ("oketo", "置戸町", "Oketo Town", "oketo", "置戸町役場 窓口", "Oketo Town Office", 43.0),
]

SERVICES = [
    ("disability", "障がい福祉の相談", "Disability life support",
     "くらし・福祉サービス・手当のこと", "Daily life, welfare services and allowances", False),
    ("guardianship", "成年後見の相談", "Adult guardianship",
     "お金や契約の管理に不安があるとき", "When managing money or contracts is hard", False),
    ("employment", "就労の相談", "Employment support",
     "障がいのある方の仕事さがし・職場のこと", "Finding and keeping work for people with disabilities", False),
    ("general", "よくわからない・その他", "Not sure / other",
     "まず話を聞きます。担当におつなぎします", "We listen first and connect you to the right person", True),
]
HOURS_JA = "平日 9:00〜17:00"
HOURS_EN = "Weekdays 9:00-17:00"

# (username, display name, municipality code, role, skills, capabilities)
STAFF = [
    ("sato", "佐藤 花子", "kitami", "specialist", ["disability", "general"], ["written", "large_text"]),
    ("suzuki", "鈴木 一郎", "kitami", "specialist", ["guardianship", "general"], ["written"]),
    ("takahashi", "高橋 美咲", "bihoro", "specialist", ["employment", "disability"], ["sign_language", "written"]),
    ("tanaka", "田中 誠", "kitami", "supervisor", ["disability", "guardianship", "employment", "general"],
     ["written"]),
    ("it", "情報システム担当", "kitami", "it_monitor", [], []),
    ("admin", "管理者", "kitami", "admin", [], []),
]
DEMO_PASSWORD = "madoguchi-demo"  # published: only `madoguchi demo` and the tests use it (`db seed` does not)


async def seed_demo(db: AsyncSession, password: str = DEMO_PASSWORD) -> bool:
    """Insert the demo data once, the staff with ``password``. Returns False if data was already there."""
    if (await db.execute(select(Municipality.id).limit(1))).first() is not None:
        return False
    munis: dict[str, Municipality] = {}
    for code, ja, en, bcode, bja, ben, km in MUNICIPALITIES:
        m = Municipality(code=code, name_ja=ja, name_en=en)
        db.add(m)
        db.add(Branch(municipality=m, code=bcode, name_ja=bja, name_en=ben, distance_km=km))
        munis[code] = m
    services: dict[str, Service] = {}
    for i, (code, ja, en, dja, den, general) in enumerate(SERVICES):
        s = Service(code=code, name_ja=ja, name_en=en, description_ja=dja, description_en=den,
                    hours_ja=HOURS_JA, hours_en=HOURS_EN, shared=True, is_general=general, sort_order=i)
        db.add(s)
        services[code] = s
    await db.flush()
    pw_hash = hash_secret(password)
    for user, name, mcode, role, skills, caps in STAFF:
        db.add(Staff(username=user, display_name=name, municipality_id=munis[mcode].id, role=role,
                     password_hash=pw_hash, capabilities=caps, skills=[services[s] for s in skills]))
    await db.flush()
    return True
