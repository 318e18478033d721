"""A simulator of e-Lapor Kabupaten Kupang (the regency's complaint app, Next.js with
Prisma), for tests over real HTTP: its list API, comments sub-resource and cookie login."""
