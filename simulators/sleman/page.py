"""The local system's public page (Bahasa Indonesia): latest complaints and responses.
Rendered with Jinja autoescaping: every value from the data is escaped."""
from flask import render_template_string

from simulators.sleman.master import STATUSES, UNITS

PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>LAPOR Sleman (simulator)</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}small,.muted{color:#666}
.st{padding:1px 6px;border-radius:3px;background:#eee;white-space:nowrap}
.st-Menunggu{background:#fde68a}.st-Diverifikasi{background:#bfdbfe}
.st-Diproses{background:#c7d2fe}.st-Selesai{background:#bbf7d0}.st-Ditolak{background:#fecaca}
.hub{background:#1d4ed8;color:#fff;padding:1px 6px;border-radius:3px}
.tg{margin:0 0 4px;padding-left:6px;border-left:3px solid #ccc}
.fault{background:#fee2e2;padding:6px 10px;border:1px solid #f87171}
</style></head><body>
<h1>LAPOR Sleman <small>simulator sistem pengaduan lokal (lapor.slemankab.go.id)</small></h1>
<p>{{ counts.aduan }} aduan, {{ counts.tanggapan }} tanggapan.
{% for s in statuses %}<span class="st st-{{ s }}">{{ s }}: {{ counts.per_status[s] }}</span>
{% endfor %}<br><small>Aduan bertanda <span class="hub">sumber: hub</span> datang dari hub
SP4N-LAPOR!; lainnya dicatat petugas lokal. Halaman ini diperbarui tiap 5 detik.
Waktu server: {{ now }}.</small></p>
{% if fault.mode != "none" %}<p class="fault">Gangguan simulasi aktif: {{ fault.mode }}
{% if fault.remaining is not none %}({{ fault.remaining }} permintaan lagi){% endif %}</p>
{% endif %}
<table><tr><th>No. tiket</th><th>Aduan</th><th>Kategori</th><th>OPD</th><th>Kanal</th>
<th>Pelapor</th><th>Status</th><th>Tanggapan</th><th>Diperbarui</th></tr>
{% for a in aduan %}<tr>
<td>{{ a.no_tiket }}{% if a.sumber == "hub" %}<br><span class="hub">sumber: hub</span>
<br><small>{{ a.id_eksternal }}</small>{% endif %}</td>
<td><b>{{ a.judul }}</b>{% if a.rahasia %} <small>(rahasia)</small>{% endif %}
<br><small>{{ a.isi }}</small></td>
<td>{{ a.nama_kategori }}<br><small>{{ a.kategori }}</small></td>
<td title="{{ units.get(a.opd, '') }}">{{ a.opd or "-" }}</td><td>{{ a.kanal }}</td>
<td>{% if a.anonim %}<i>Anonim</i>{% else %}{{ a.pelapor.nama or "-" }}{% endif %}</td>
<td><span class="st st-{{ a.status }}">{{ a.status }}</span></td>
<td>{% for t in a.tanggapan %}<p class="tg">{{ t.isi }}<br><small>{{ t.petugas }},
{{ t.dibuat_pada }}{% if t.sumber == "hub" %}, dari hub{% endif %}
{% if not t.publik %}, internal{% endif %}</small></p>{% else %}<span class="muted">-</span>
{% endfor %}</td>
<td><small>{{ a.diperbarui_pada }}</small></td></tr>
{% else %}<tr><td colspan="9" class="muted">Belum ada aduan.</td></tr>{% endfor %}
</table></body></html>"""


def render(store, faults, limit: int = 50) -> str:
    return render_template_string(PAGE, aduan=store.latest(limit), counts=store.counts(),
                                  statuses=STATUSES, units=UNITS, fault=faults.state(),
                                  now=store.clock.stamp())
