"""A simulator of a "pengaduan masyarakat" app (the UKK RPL schema many regional apps
share: pengaduan, tanggapan, masyarakat, petugas), for tests over real HTTP: follow-ups
kept inside each complaint, and a changed-since filter in its own date format."""
