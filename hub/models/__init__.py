"""The hub's data model. Import from here so Alembic sees every table."""
from hub.models.clients import NATIONAL, SCOPES, ApiClient, SourceSystem, hash_secret  # noqa
from hub.models.directory import AGENCY_LEVELS, Agency, Category, Holiday  # noqa
from hub.models.infra import Counter, IdempotencyRecord  # noqa
from hub.models.reports import (  # noqa
    CHANNELS, CLASSIFICATIONS, STATUSES, VISIBILITIES, Attachment, Report, ReportAgency,
    ReportEvent, ReportExternalRef, Response, ResponseExternalRef,
)
from hub.models.types import utcnow  # noqa
from hub.models.sync import (  # noqa
    MAPPED_FIELDS, STATUS_OUT, Connector, HeldRecord, Mapping, OutboundPush, StreamState,
    SyncRecordError, SyncRun,
)
from hub.models.users import ROLES, LoginThrottle, UiSession, User  # noqa
from hub.models.open311 import Open311Key, Open311Token, hash_open311_key  # noqa
from hub.models.sla import (  # noqa
    CLOCKS, SLA_FIELDS, TIERS, AgencySlaSettings, ReportSlaTier, SlaBreach,
)
from hub.models.webhooks import (  # noqa
    EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookOutboxEvent, WebhookRelayCursor,
    WebhookSubscription,
)
from hub.models.rollup import ReportDailyCount, ReportStatusCount  # noqa
