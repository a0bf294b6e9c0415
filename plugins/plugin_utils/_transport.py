# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP to remote.it: proxies and TLS as requests would set them up, request signing, retries, and the mapping of
HTTP statuses and GraphQL errors to the error classes.

Nothing else in the collection sends HTTP.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import os
import random
import re
import time
from urllib.parse import urlsplit

from ansible_collections.community.remoteit.plugins.plugin_utils import _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import (
    AmbiguousResultError,
    AuthError,
    CredentialsError,
    DependencyError,
    EndpointError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    OfflineError,
    RemoteitError,
    ResponseError,
    ThrottledError,
    TlsError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

GRAPHQL_PATH = "/graphql/v1"
DEFAULT_API_URL = "https://api.remote.it" + GRAPHQL_PATH
RETRY_STATUSES = frozenset((429, 502, 503, 504))
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 120.0

KEY_ID_RE = re.compile(r"[!#-~]+")  # printable ASCII but space and '"': it is quoted in the Authorization header

# OpenSSL's reason, as in "[SSL: WRONG_VERSION_NUMBER] wrong version number", for a TLS failure.
OPENSSL_REASON_RE = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")
# Reasons OpenSSL gives when what answered the TLS handshake was not TLS, such as a plain-HTTP server.
NOT_TLS_REASONS = frozenset(("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                             "UNKNOWN_PROTOCOL"))

SIGNED_HEADERS = ("(request-target)", "host", "date", "content-type", "content-length")


def sign_request(key_id, secret, method, url, body, date):
    """Return the Host and Authorization headers remote.it expects for this exact request."""
    if not KEY_ID_RE.fullmatch(key_id):
        raise CredentialsError("the access key id %s has characters no access key id has (spaces, line breaks, "
                               "quotes); copy it again from your remote.it account" % shown(key_id))
    try:
        key = base64.b64decode(secret, validate=True)
    except (ValueError, TypeError):
        raise CredentialsError("the secret access key is not valid base64; copy it again from your remote.it account"
                               ) from None
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    values = {
        "(request-target)": "%s %s" % (method.lower(), target),
        "host": host,
        "date": date,
        "content-type": "application/json",
        "content-length": str(len(body)),
    }
    signing_string = "\n".join("%s: %s" % (name, values[name]) for name in SIGNED_HEADERS)
    digest = hmac.new(key, signing_string.encode("utf-8"), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode("ascii")
    return {
        "Host": host,
        "Date": date,
        "Content-Type": "application/json",
        "Authorization": 'Signature keyId="%s",algorithm="hmac-sha256",headers="%s",signature="%s"'
        % (key_id, " ".join(SIGNED_HEADERS), signature),
    }


def retry_after_seconds(value):
    """Seconds a Retry-After header asks for (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _graphql_messages(errors):
    """The API's error messages, bounded: their text is the API's, and may quote names of others' choosing."""
    messages = []
    for error in (errors if isinstance(errors, list) else [errors])[:5]:
        message = error.get("message") if isinstance(error, dict) else error
        messages.append(_untrusted.bounded(message))
    return "; ".join(messages) or "unknown error"


# GraphQL servers say what kind of error they met in extensions.code (Apollo's and the spec's usage).
ERROR_CODE_CLASSES = {
    "UNAUTHENTICATED": AuthError, "FORBIDDEN": AuthError, "UNAUTHORIZED": AuthError,
    "NOT_FOUND": NotFoundError,
    "BAD_USER_INPUT": InvalidInputError, "GRAPHQL_VALIDATION_FAILED": InvalidInputError,
    "GRAPHQL_PARSE_FAILED": InvalidInputError,
    "TOO_MANY_REQUESTS": ThrottledError, "RATE_LIMITED": ThrottledError, "THROTTLED": ThrottledError,
}


def _classify(errors):
    """(error class, field) of a GraphQL error list: from its structure first, its wording only as the last resort.

    remote.it documents no error codes, so each error's extensions.code is used where present; the field is
    the first element of the error's path, which says which operation failed.
    """
    first = next((error for error in errors if isinstance(error, dict)), {}) if isinstance(errors, list) else {}
    path = first.get("path")
    field = path[0] if isinstance(path, list) and path and isinstance(path[0], str) else None
    extensions = first.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    error_class = ERROR_CODE_CLASSES.get(code.upper()) if isinstance(code, str) else None
    return error_class or _class_from_wording(_graphql_messages(errors)), field


def _class_from_wording(message):
    lowered = message.lower()
    if "inactive" in lowered or "offline" in lowered:
        return OfflineError
    if "not found" in lowered or "does not exist" in lowered:
        return NotFoundError
    if "unauthori" in lowered or "forbidden" in lowered or "permission" in lowered:
        return AuthError
    return RemoteitError


def http_library():
    """urllib3, which requests is built on and installs: without requests' layer on top, every run that loads a
    module costs less (bench/README.md, "fixed cost of a run"). Where the environment names a proxy, requests too,
    whose rules for choosing and reaching it the client follows.

    The action plugins import these when they load (see _action.py), so tasks do not pay this each time; an
    inventory built from its cache never needs them.
    """
    try:
        import urllib3  # pylint: disable=import-outside-toplevel

        if _environment_proxies():
            import requests.adapters  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        raise DependencyError("the Python library 'requests' is required on the Ansible controller: "
                              "pip install requests") from None
    return urllib3


def _environment_proxies():
    """The proxies HTTPS_PROXY, HTTP_PROXY and ALL_PROXY name (or the system's, on macOS and Windows)."""
    import urllib.request  # pylint: disable=import-outside-toplevel

    return {scheme: url for scheme, url in urllib.request.getproxies().items() if scheme != "no" and url}


def _pool_manager(urllib3, url, validate_certs):
    """A keep-alive connection pool for url, set up from the environment as requests would set it up.

    Certificates are verified against the bundle REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE names, else certifi's. The
    proxy is chosen, bypassed (NO_PROXY) and reached (credentials, SOCKS) by requests' own code.
    """
    tls = {"cert_reqs": "CERT_NONE"}
    if validate_certs:
        tls["cert_reqs"] = "CERT_REQUIRED"
        named = next((name for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if os.environ.get(name)), None)
        bundle = os.environ[named] if named else _certifi_bundle()
        if named and not os.path.exists(bundle):
            raise InvalidInputError("the environment variable %s names %s, which does not exist: point it at the "
                                    "certificate (PEM) of the CA that signs the API's certificate"
                                    % (named, shown(bundle)))
        if bundle:
            tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    proxies = _environment_proxies()
    if not proxies:
        return urllib3.PoolManager(**tls)
    import requests.adapters  # pylint: disable=import-outside-toplevel
    import requests.utils  # pylint: disable=import-outside-toplevel

    proxy = None if requests.utils.should_bypass_proxies(url, no_proxy=None) else requests.utils.select_proxy(url, proxies)
    if not proxy:
        return urllib3.PoolManager(**tls)
    variables = "%s_PROXY or ALL_PROXY" % urlsplit(url).scheme.upper()
    try:
        proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
        if not urllib3.util.parse_url(proxy).host:
            raise ValueError("no host")
        return requests.adapters.HTTPAdapter().proxy_manager_for(proxy, **tls)
    except requests.exceptions.InvalidSchema:
        raise DependencyError("the environment names a SOCKS proxy (%s), which needs the Python library PySocks: "
                              "pip install pysocks" % variables) from None
    except (ValueError, TypeError) as exc:  # the proxy URL cannot be parsed, or has a scheme urllib3 does not know
        # Only the error's kind is shown: its text may hold the proxy's password.
        raise InvalidInputError("the environment names a proxy (%s) whose URL cannot be used (%s): give "
                                "http://[user:password@]host:port" % (variables, type(exc).__name__)) from None


def _certifi_bundle():
    try:
        import certifi  # pylint: disable=import-outside-toplevel
    except ImportError:  # urllib3 then trusts the system's CAs
        return None
    return certifi.where()


class Transport:
    """A signed GraphQL session with remote.it over HTTP, retrying what is safe to retry."""

    def __init__(self, key_id, secret, key_origin, api_url, validate_certs, request_timeout, retries, sleep):
        """key_origin says in words where the key pair came from (see _credentials.Credentials), for when it is rejected."""
        self.key_id = key_id
        self._secret = secret
        self.key_origin = key_origin
        self.api_url = api_url
        self.validate_certs = validate_certs
        self.request_timeout = request_timeout
        self.retries = retries
        self._sleep = sleep
        self._pool = None

    def graphql(self, query, variables=None, idempotent=True, after_lost_answer=None):
        """Run one GraphQL document and return its data, raising RemoteitError on any failure.

        At most `retries` + 1 requests are sent. Throttled requests and requests that never left are
        retried. A request whose answer was lost (or that met a server error) may have been carried out:
        `after_lost_answer()` is called each time, so the caller can find out what happened; an idempotent
        request is then retried, a mutation only when `after_lost_answer` undid its effect. Without it, a
        mutation raises AmbiguousResultError at once.
        """
        body = json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":")).encode("utf-8")
        attempt = 0
        while True:
            response, failure = self._post(body)
            lost = ((response is not None and response.status >= 500 and not idempotent)
                    or (response is None and failure.error is NetworkError and failure.sent))
            retryable = False
            if lost:
                reason = "remote.it answered HTTP %d" % response.status if response is not None else failure.message
                if not idempotent and after_lost_answer is None:
                    raise AmbiguousResultError(reason)
                if after_lost_answer is not None:
                    after_lost_answer()
                if attempt == self.retries and not idempotent:
                    raise AmbiguousResultError(reason)
            elif response is not None:
                retryable = response.status == 429 or (idempotent and response.status in RETRY_STATUSES)
            else:
                retryable = failure.error is NetworkError
            if (lost or retryable) and attempt < self.retries:
                self.pause(attempt, response)
                attempt += 1
                continue
            if response is not None:
                return self._parse(response, attempt)
            raise failure.error(failure.message + self._attempts(attempt))

    def _post(self, body):
        """Send once; return (response, None) or (None, _Failure) saying whether the request got out."""
        urllib3 = http_library()
        if self._pool is None:
            self._pool = _pool_manager(urllib3, self.api_url, self.validate_certs)
        headers = sign_request(self.key_id, self._secret, "POST", self.api_url, body,
                               email.utils.formatdate(usegmt=True))
        headers["Accept-Encoding"] = "gzip, deflate"
        failed = urllib3.exceptions
        timeout = urllib3.Timeout(connect=self.request_timeout, read=self.request_timeout)
        try:
            response = self._pool.request("POST", self.api_url, body=body, headers=headers, retries=False,
                                          redirect=False, timeout=timeout)
        except failed.SSLError as exc:
            return None, _Failure(self._tls_failure(_reason(exc)), sent=False, error=TlsError)
        except failed.ProxyError as exc:
            # urllib3 says ProxyError of any failure while a proxy is in the way, even after the request went out.
            inner = getattr(exc, "original_error", None)
            tls = isinstance(inner, failed.SSLError)  # with the proxy itself: nothing has left yet
            sent = not (tls or isinstance(inner, failed.ConnectTimeoutError)  # NewConnectionError too
                        or (isinstance(inner, OSError) and str(inner).startswith("Tunnel connection failed")))
            return None, _Failure("cannot reach %s through the proxy the environment names: %s"
                                  % (self.api_url, _reason(exc)), sent=sent,
                                  error=TlsError if tls else NetworkError)
        except failed.NewConnectionError as exc:  # before ConnectTimeoutError, its base class
            return None, _Failure("cannot reach %s: %s" % (self.api_url, _reason(exc)), sent=False)
        except failed.ConnectTimeoutError:
            return None, _Failure("timed out connecting to %s" % self.api_url, sent=False)
        except failed.ReadTimeoutError:
            return None, _Failure("no answer from %s within request_timeout=%ss"
                                  % (self.api_url, self.request_timeout), sent=True)
        except failed.ProtocolError as exc:
            return None, _Failure("cannot reach %s: %s" % (self.api_url, _reason(exc)), sent=True)
        except failed.HTTPError as exc:
            return None, _Failure("request to %s failed: %s" % (self.api_url, _reason(exc)), sent=True)
        return response, None

    def _tls_failure(self, reason):
        """What went wrong in the TLS handshake; only a certificate that failed verification earns advice on trust."""
        found = OPENSSL_REASON_RE.search(reason)
        code = found.group(1) if found else None
        if code in NOT_TLS_REASONS:
            return "the server at %s does not speak TLS (use http:// if that is intended)" % self.api_url
        if code == "CERTIFICATE_VERIFY_FAILED":
            return ("the TLS certificate of %s could not be verified (%s). If a private CA signed it, point the "
                    "environment variable REQUESTS_CA_BUNDLE at that CA's certificate; only for a test server you "
                    "trust, set validate_certs to false instead" % (self.api_url, reason))
        return "the TLS handshake with %s failed (%s)" % (self.api_url, reason)

    def pause(self, attempt, response=None):
        """Wait before retry number attempt + 1: as long as Retry-After asks, else exponential with jitter."""
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        if asked is None:
            asked = min(MAX_BACKOFF, 2 ** attempt) * random.uniform(0.5, 1.0)
        self._sleep(min(asked, MAX_RETRY_AFTER))

    @staticmethod
    def _attempts(retries_done):
        return " (after %d retries)" % retries_done if retries_done else ""

    def _parse(self, response, retries_done):
        status = response.status
        if status in (401, 403):
            raise AuthError(
                "remote.it rejected the request signature for access key id %r (HTTP %d): %s. Check that key pair "
                "there, and this machine's clock: signatures carry the time, so clock skew of a few minutes also "
                "fails." % (self.key_id, status, self.key_origin), status=status)
        if status == 429:
            raise ThrottledError("remote.it is throttling requests (HTTP 429)%s; try again later or lower forks"
                                 % self._attempts(retries_done), status=status)
        if status == 404:
            raise EndpointError("there is no remote.it API at %s (HTTP 404 Not Found): api_url must be the full URL of "
                                "the GraphQL endpoint, whose path is %s, such as %s"
                                % (self.api_url, GRAPHQL_PATH, DEFAULT_API_URL), status=status)
        if 300 <= status < 400:
            # Followed, a redirect would turn the signed POST into a GET or send it to a host it was not signed for.
            raise EndpointError("%s redirects (HTTP %d) to %s: set api_url to the URL of the API itself"
                                % (self.api_url, status, shown(response.headers.get("Location"), 200)), status=status)
        try:
            payload = json.loads(response.data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; a hostile nesting depth is not
            payload = None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if status >= 400:
            # Only the API's own GraphQL errors say what failed; another body (a proxy's page) is no evidence.
            if not errors:
                raise RemoteitError("remote.it answered HTTP %d%s: %s"
                                    % (status, self._attempts(retries_done), _excerpt(response.data)), status=status)
            error_class, field = _classify(errors)
            raise error_class("remote.it answered HTTP %d%s: %s"
                              % (status, self._attempts(retries_done), _graphql_messages(errors)),
                              status=status, field=field)
        if not isinstance(payload, dict):
            raise ResponseError("malformed API response (HTTP %d, not a JSON object): %s"
                                % (status, _excerpt(response.data)), status=status)
        if errors:
            error_class, field = _classify(errors)
            raise error_class("remote.it API error: %s" % _graphql_messages(errors), status=status, field=field)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ResponseError("malformed API response: no 'data' object in %s" % _excerpt(response.data),
                                status=status)
        return data


def _excerpt(body, limit=200):
    return _untrusted.bounded((body or b"").decode("utf-8", "replace").strip().replace("\n", " "), limit)


def _reason(exc):
    """The most specific reason of a urllib3 exception: the socket's or the ssl module's error it wraps."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or next((arg for arg in exc.args if isinstance(arg, Exception)), None)
        if inner is None and not exc.__suppress_context__:
            inner = exc.__context__
        if inner is None:
            break
        exc = inner
    return str(exc)


class _Failure:
    """A request that got no HTTP response."""

    def __init__(self, message, sent, error=NetworkError):
        self.message = message
        self.sent = sent
        self.error = error
