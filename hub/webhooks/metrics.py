"""Per-subscription webhook figures for /metrics, read from the database at scrape time.

Deliveries are sent by relay jobs in RQ workers, not in the web processes that serve
/metrics, so in-process counters would show nothing there (and gunicorn's multiprocess
mode only sums the web workers' files): the delivery table is the one place that knows.
"""
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily

from hub.extensions import db


class WebhookCollector:
    def collect(self):
        from hub.models import WebhookDelivery, WebhookSubscription, utcnow
        counts = GaugeMetricFamily(
            "hub_webhook_deliveries", "Webhook deliveries by subscription and status "
            "(succeeded: delivered; dead or failed: not delivered)",
            labels=["subscription", "status"])
        lag = GaugeMetricFamily(
            "hub_webhook_lag_seconds", "Age of the oldest undelivered pending event of a "
            "subscription (0: caught up)", labels=["subscription"])
        circuit = GaugeMetricFamily(
            "hub_webhook_circuit_open", "1 while the subscription's circuit is open",
            labels=["subscription"])
        try:
            now = utcnow()
            rows = db.session.execute(
                sa.select(WebhookDelivery.subscription_id, WebhookDelivery.status,
                          sa.func.count(), sa.func.min(WebhookDelivery.event_at))
                .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)).all()
            subs = db.session.execute(sa.select(WebhookSubscription.id,
                                                WebhookSubscription.circuit_open_until)).all()
        except Exception:
            db.session.rollback()
            rows, subs = [], []
        oldest = {}
        for sub_id, status, n, first in rows:
            counts.add_metric([str(sub_id), status], n)
            if status == "pending":
                oldest[sub_id] = first
        for sub_id, open_until in subs:
            first = oldest.get(sub_id)
            lag.add_metric([str(sub_id)],
                           max(0.0, (now - first).total_seconds()) if first else 0.0)
            circuit.add_metric([str(sub_id)],
                               1 if open_until is not None and open_until > now else 0)
        yield counts
        yield lag
        yield circuit
