"""Webhooks for integrators (Standard Webhooks v1).

outbox: events that are not report events; relay: fan events out to subscriptions as
delivery rows; delivery: claim due deliveries and send them; signing: secrets and
signatures; ssrf: which destinations may be called; payloads: what a subscriber may see.
"""
