"""HTTP to a local system, with failures turned into ConnectorErrors that say whether
retrying can help (timeouts, 5xx, 429) or a person must act (credentials, a refusal).
Shared by every connector that speaks HTTP, so they all fail the same, readable way."""
import requests

from connectors.base import ConnectorError


def request(http, method: str, url: str, path: str, *, system: str, timeout: float,
            **kwargs):
    """One call, never following redirects; a transport failure is retryable."""
    try:
        return http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.exceptions.InvalidURL as exc:
        # Also the hub's refusal of a destination its operator does not allow (its words
        # name only what the tenant typed): retrying cannot help, a person must act.
        raise ConnectorError(f"{method} {path}: {exc}", retryable=False) from None
    except requests.Timeout:
        raise ConnectorError(f"{method} {path}: {system} did not answer within "
                             f"{timeout:g} s") from None
    except requests.RequestException as exc:
        raise ConnectorError(f"{method} {path}: cannot reach {system} "
                             f"({exc.__class__.__name__})") from None


def raise_for_status(resp, method: str, path: str, *, system: str,
                     credential: str = "the credentials", why: str = "") -> None:
    code = resp.status_code
    if code in (401, 403):
        raise ConnectorError(f"{method} {path}: {system} refused {credential} "
                             f"(HTTP {code}{why}); check the connector's secrets",
                             retryable=False)
    if code == 429 or code >= 500:
        raise ConnectorError(f"{method} {path}: {system} failed (HTTP {code}{why})",
                             detail=resp.text[:500])
    if code >= 400:
        raise ConnectorError(f"{method} {path}: {system} rejected the request "
                             f"(HTTP {code}{why})", retryable=False, detail=resp.text[:500])
