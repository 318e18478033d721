"""Reports and comments as e-Lapor Kupang keeps them (its Prisma schema: Report, Comment,
User, OPD), generated from the app's real seed data: its 52 OPD names and its category
tree (fixtures/, copied unchanged from the project's real-world fixtures,
fixtures/kupang/ of GitHub Joshtri/e-lapor-kab-kupang's seed)."""
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STATUSES = ("PENDING", "PROSES", "SELESAI", "DITOLAK")
FIRST = ("Yohanes", "Maria", "Agustinus", "Fransiska", "Petrus", "Yuliana", "Markus",
         "Theresia", "Dominggus", "Elisabeth", "Nikolas", "Ansela", "Simon", "Veronika")
LAST = ("Tefa", "Nenobais", "Lakapu", "Benu", "Sabaat", "Manu", "Kase", "Nubatonis",
        "Tanesib", "Bana", "Selan", "Ndun", "Taek", "Kolo")
PLACES = ("Oelamasi", "Kupang Tengah", "Kupang Timur", "Amarasi", "Sulamu", "Fatuleu",
          "Takari", "Amfoang Selatan", "Semau", "Taebenu", "Nekamese", "Amabi Oefeto")
COMPLAINTS = ("Jalan rusak dan berlubang di {place}", "Air bersih tidak mengalir di {place}",
              "Lampu jalan mati di {place}", "Pelayanan lambat di kantor {place}",
              "Bantuan sosial belum diterima warga {place}", "Sampah menumpuk di pasar {place}",
              "Sekolah rusak di {place}", "Puskesmas kekurangan obat di {place}")


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def opd_names() -> list[str]:
    return _fixture("opd_names.json")


def categories() -> list[dict]:
    return _fixture("categories.json")


def cuid(rng: random.Random) -> str:
    """Ids as the app keeps them since it moved from serial ids to strings."""
    return "cm" + "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyz")
                          for _ in range(23))


def stamp(moment: datetime) -> str:
    """Prisma writes UTC into naive timestamp columns: served without an offset."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(
        timespec="milliseconds")


def generate(count: int, comments: int, seed: int, now: datetime):
    """`count` reports and `comments` comments spread over them, oldest a year back."""
    rng = random.Random(seed)
    opds = [{"id": cuid(rng), "name": name} for name in opd_names()]
    cats = categories()
    users = [{"id": cuid(rng), "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
              "role": "PELAPOR"} for _ in range(40)]
    staff = [{"id": cuid(rng), "name": f"Admin {o['name']}", "role": "OPD"} for o in opds]
    reports = []
    for index in range(count):
        created = now - timedelta(days=365) + timedelta(seconds=index * 86400 * 365 // count)
        cat = rng.choice(cats)
        user = rng.choice(users)
        bupati = rng.choice(STATUSES)
        assigned = bupati in ("PROSES", "SELESAI") or rng.random() < 0.3
        opd = rng.choice(opds) if assigned else None
        reports.append({
            "id": cuid(rng), "title": rng.choice(COMPLAINTS).format(place=rng.choice(PLACES)),
            "description": "Mohon segera ditindaklanjuti. " * rng.randint(1, 3),
            "category": cat["name"], "subcategory": rng.choice(cat["sub"] or ["Lainnya"]),
            "location": f"Desa {rng.choice(PLACES)}, Kabupaten Kupang",
            "bupatiStatus": bupati,
            "opdStatus": rng.choice(STATUSES) if opd else "PENDING",
            "createdAt": created,
            "updatedAt": min(now, created + timedelta(hours=rng.randint(0, 72))),
            "userId": user["id"], "user": {"name": user["name"], "email":
                                           f"{user['name'].lower().replace(' ', '.')}@mail.id",
                                           "contactNumber": f"08{rng.randint(10**9, 10**10)}"},
            "opdId": opd["id"] if opd else None,
            "opd": {"name": opd["name"]} if opd else None,
        })
    all_comments = []
    for _ in range(comments):
        report = rng.choice(reports)
        author = rng.choice(staff + users[:5])
        all_comments.append({
            "id": cuid(rng), "reportId": report["id"], "userId": author["id"],
            "comment": rng.choice(("Laporan sudah kami terima.", "Tim sedang ke lokasi.",
                                   "Sudah ditangani, mohon konfirmasi.", "Terima kasih.")),
            "createdAt": min(now, report["createdAt"] + timedelta(hours=rng.randint(1, 200))),
            "user": {"name": author["name"], "role": author["role"]}})
    return reports, all_comments
