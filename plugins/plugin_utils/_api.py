# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one remote.it API client: request signing, GraphQL, retries, paging and error mapping.

Every module, lookup and inventory plugin of this collection talks to remote.it through
RemoteitClient; nothing else in the collection sends HTTP.
"""

from __future__ import annotations

import base64
import contextlib
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
from ansible_collections.community.remoteit.plugins.plugin_utils._untrusted import shown

GRAPHQL_PATH = "/graphql/v1"
DEFAULT_API_URL = "https://api.remote.it" + GRAPHQL_PATH
PAGE_SIZE = 1000  # the API's maximum page size
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

DEVICE_FIELDS = """
  id name state online
  services { id name application title port host state enabled }
"""

CONNECTION_FIELDS = """
  id reverseProxy host port url created timeout
  session { id target { id name device { id name } } }
"""


class RemoteitError(Exception):
    """An error the user can act on. Its message is shown as is, so it never holds a secret.

    `field` is the API field a GraphQL error was about (such as disconnect), when the API said so.
    """

    def __init__(self, message, kind="api", status=None, field=None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.field = field

    def as_dict(self):
        return {"kind": self.kind, "status": self.status}


class AmbiguousResultError(RemoteitError):
    """A mutation may or may not have been carried out: its response never arrived."""

    def __init__(self, message):
        super().__init__(message, kind="network")


class UnusableConnectError(RemoteitError):
    """connect answered, but with values that must not be used: the proxy it opened is still open.

    `connection_id` is the answer's id where that at least is an id, so the proxy can be closed by it.
    """

    def __init__(self, message, connection_id):
        super().__init__(message, kind="response")
        self.connection_id = connection_id


def is_service_id(value):
    return bool(_untrusted.SERVICE_ID_RE.match(value or ""))


def normalize_service_id(value):
    if not is_service_id(value):
        raise RemoteitError(
            "service_id %s is not a remote.it service id: expected 8 hex octets separated by colons, "
            "such as 80:00:00:00:01:02:03:04" % shown(value),
            kind="invalid_input",
        )
    return value.upper()


def normalize_api_url(url):
    """The api_url to send requests to, checked before the first one: an http(s) URL without a trailing slash.

    remote.it's endpoint has no trailing slash, so one (a common slip) is dropped instead of earning a 404.
    """
    try:
        _untrusted.url(url, ("http", "https"))  # as every record of it is checked: no user name, no port 0
        valid = True
    except ValueError:
        valid = False
    if not valid:
        raise RemoteitError("api_url %s is not an http:// or https:// URL: give the full URL of the API, such as %s"
                            % (shown(url), DEFAULT_API_URL), kind="invalid_input")
    return url.rstrip("/")


def sign_request(key_id, secret, method, url, body, date):
    """Return the Host and Authorization headers remote.it expects for this exact request."""
    if not KEY_ID_RE.fullmatch(key_id):
        raise RemoteitError("the access key id %s has characters no access key id has (spaces, line breaks, quotes); "
                            "copy it again from your remote.it account" % shown(key_id), kind="credentials")
    try:
        key = base64.b64decode(secret, validate=True)
    except (ValueError, TypeError):
        raise RemoteitError(
            "the secret access key is not valid base64; copy it again from your remote.it account",
            kind="credentials",
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
ERROR_CODE_KINDS = {
    "UNAUTHENTICATED": "auth", "FORBIDDEN": "auth", "UNAUTHORIZED": "auth",
    "NOT_FOUND": "not_found",
    "BAD_USER_INPUT": "invalid_input", "GRAPHQL_VALIDATION_FAILED": "invalid_input",
    "GRAPHQL_PARSE_FAILED": "invalid_input",
    "TOO_MANY_REQUESTS": "throttled", "RATE_LIMITED": "throttled", "THROTTLED": "throttled",
}


def _classify(errors):
    """(kind, field) of a GraphQL error list: from its structure first, its wording only as the last resort.

    remote.it documents no error codes, so each error's extensions.code is used where present; the field is
    the first element of the error's path, which says which operation failed.
    """
    first = next((error for error in errors if isinstance(error, dict)), {}) if isinstance(errors, list) else {}
    path = first.get("path")
    field = path[0] if isinstance(path, list) and path and isinstance(path[0], str) else None
    extensions = first.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    kind = ERROR_CODE_KINDS.get(code.upper()) if isinstance(code, str) else None
    return kind or _kind_from_wording(_graphql_messages(errors)), field


def _kind_from_wording(message):
    lowered = message.lower()
    if "inactive" in lowered or "offline" in lowered:
        return "offline"
    if "not found" in lowered or "does not exist" in lowered:
        return "not_found"
    if "unauthori" in lowered or "forbidden" in lowered or "permission" in lowered:
        return "auth"
    return "api"


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
        raise RemoteitError("the Python library 'requests' is required on the Ansible controller: pip install requests",
                            kind="dependency") from None
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
            raise RemoteitError("the environment variable %s names %s, which does not exist: point it at the "
                                "certificate (PEM) of the CA that signs the API's certificate"
                                % (named, shown(bundle)), kind="invalid_input")
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
        raise RemoteitError("the environment names a SOCKS proxy (%s), which needs the Python library PySocks: "
                            "pip install pysocks" % variables, kind="dependency") from None
    except (ValueError, TypeError) as exc:  # the proxy URL cannot be parsed, or has a scheme urllib3 does not know
        # Only the error's kind is shown: its text may hold the proxy's password.
        raise RemoteitError("the environment names a proxy (%s) whose URL cannot be used (%s): give "
                            "http://[user:password@]host:port" % (variables, type(exc).__name__),
                            kind="invalid_input") from None


def _certifi_bundle():
    try:
        import certifi  # pylint: disable=import-outside-toplevel
    except ImportError:  # urllib3 then trusts the system's CAs
        return None
    return certifi.where()


class RemoteitClient:
    """A signed GraphQL session with remote.it, retrying what is safe to retry."""

    def __init__(self, key_id, secret, key_origin, api_url=DEFAULT_API_URL, validate_certs=True, request_timeout=30,
                 retries=3, account_id=None, sleep=time.sleep, warn=None):
        """key_origin says in words where the key pair came from (see _credentials.Credentials), for when it is rejected.

        `warn` takes a warning about what the API listed but this client left out (a device whose id is not an id).
        """
        self.key_id = key_id
        self._secret = secret
        self.key_origin = key_origin
        self.api_url = api_url
        self.validate_certs = validate_certs
        self.request_timeout = request_timeout
        self.retries = retries
        self.account_id = account_id
        self._sleep = sleep
        self._pool = None
        self._application_types = None
        self._warn = warn
        self._warned = set()

    def __repr__(self):
        return "RemoteitClient(api_url=%r, key_id=%r)" % (self.api_url, self.key_id)

    # -- transport ---------------------------------------------------------------------------

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
                    or (response is None and failure.kind == "network" and failure.sent))
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
                retryable = failure.kind == "network"
            if (lost or retryable) and attempt < self.retries:
                self.pause(attempt, response)
                attempt += 1
                continue
            if response is not None:
                return self._parse(response, attempt)
            raise RemoteitError(failure.message + self._attempts(attempt), kind=failure.kind)

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
            return None, _Failure(self._tls_failure(_reason(exc)), sent=False, kind="tls")
        except failed.ProxyError as exc:
            # urllib3 says ProxyError of any failure while a proxy is in the way, even after the request went out.
            inner = getattr(exc, "original_error", None)
            tls = isinstance(inner, failed.SSLError)  # with the proxy itself: nothing has left yet
            sent = not (tls or isinstance(inner, failed.ConnectTimeoutError)  # NewConnectionError too
                        or (isinstance(inner, OSError) and str(inner).startswith("Tunnel connection failed")))
            return None, _Failure("cannot reach %s through the proxy the environment names: %s"
                                  % (self.api_url, _reason(exc)), sent=sent, kind="tls" if tls else "network")
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
            raise RemoteitError(
                "remote.it rejected the request signature for access key id %r (HTTP %d): %s. Check that key pair "
                "there, and this machine's clock: signatures carry the time, so clock skew of a few minutes also "
                "fails." % (self.key_id, status, self.key_origin), kind="auth", status=status)
        if status == 429:
            raise RemoteitError("remote.it is throttling requests (HTTP 429)%s; try again later or lower forks"
                                % self._attempts(retries_done), kind="throttled", status=status)
        if status == 404:
            raise RemoteitError("there is no remote.it API at %s (HTTP 404 Not Found): api_url must be the full URL of "
                                "the GraphQL endpoint, whose path is %s, such as %s"
                                % (self.api_url, GRAPHQL_PATH, DEFAULT_API_URL), kind="endpoint", status=status)
        if 300 <= status < 400:
            # Followed, a redirect would turn the signed POST into a GET or send it to a host it was not signed for.
            raise RemoteitError("%s redirects (HTTP %d) to %s: set api_url to the URL of the API itself"
                                % (self.api_url, status, shown(response.headers.get("Location"), 200)),
                                kind="endpoint", status=status)
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
            kind, field = _classify(errors)
            raise RemoteitError("remote.it answered HTTP %d%s: %s"
                                % (status, self._attempts(retries_done), _graphql_messages(errors)),
                                kind=kind, status=status, field=field)
        if not isinstance(payload, dict):
            raise RemoteitError("malformed API response (HTTP %d, not a JSON object): %s"
                                % (status, _excerpt(response.data)), kind="response", status=status)
        if errors:
            kind, field = _classify(errors)
            raise RemoteitError("remote.it API error: %s" % _graphql_messages(errors), kind=kind, status=status,
                                field=field)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise RemoteitError("malformed API response: no 'data' object in %s" % _excerpt(response.data),
                                kind="response", status=status)
        return data

    # -- queries -----------------------------------------------------------------------------

    def _user_query(self, name, variable_defs, selection, login_fields=""):
        """A query on the login user, or on the organisation account when account_id is set.

        login_fields are asked of the login user either way (such as its email).
        """
        if self.account_id:
            defs = "(%s$accountId: String)" % (variable_defs + ", " if variable_defs else "")
            return "query %s%s { login { %s account(id: $accountId) { %s } } }" % (name, defs, login_fields, selection)
        defs = "(%s)" % variable_defs if variable_defs else ""
        return "query %s%s { login { %s %s } }" % (name, defs, login_fields, selection)

    def _login(self, query, variables):
        """(the login user, the user or organisation account the query asked about)."""
        if self.account_id:
            variables = dict(variables, accountId=self.account_id)
        data = self.graphql(query, variables)
        login = _expect(data, "login", dict, "the login user")
        if login is None:
            raise RemoteitError("remote.it returned no login user: the credentials are not valid for this API",
                                kind="auth")
        if not self.account_id:
            return login, login
        account = _expect(login, "account", dict, "the organisation account")
        if account is None:
            raise RemoteitError("account_id %s is not an organisation this access key can use"
                                % shown(self.account_id), kind="not_found")
        return login, account

    def _user(self, query, variables):
        return self._login(query, variables)[1]

    def iter_devices(self, name=None, state=None, application=None):
        """Yield every device matching the server-side filters, page by page.

        The API's name filter is a case-insensitive substring match; exact matching is the caller's.
        """
        query = self._user_query(
            "RemoteitDevices", "$from: Int, $size: Int, $name: String, $state: String, $application: [Int!]",
            "devices(from: $from, size: $size, name: $name, state: $state, application: $application) "
            "{ total hasMore items { %s } }" % DEVICE_FIELDS)
        variables = {"size": PAGE_SIZE, "name": name, "state": state,
                     "application": [application] if application is not None else None}
        offset = 0
        while True:
            page = _expect(self._user(query, dict(variables, **{"from": offset})), "devices", dict, "a device page")
            items = _expect(page, "items", list, "the device list")
            for item in items:
                device = self._device(item)
                if device is not None:
                    yield device
            offset += len(items)
            total = page.get("total")
            if not page.get("hasMore") or not items or (isinstance(total, int) and offset >= total):
                return  # an API that says hasMore beyond its total would page for ever

    def devices_by_id(self, device_ids):
        query = self._user_query("RemoteitDevicesById", "$ids: [String!]!", "device(id: $ids) { %s }" % DEVICE_FIELDS)
        listed = _expect(self._user(query, {"ids": device_ids}), "device", list, "the device list") or []
        devices = (self._device(item) for item in listed)
        return [device for device in devices if device is not None]

    def sessions(self):
        """Live proxy sessions of the account: remote.it's view of which connections are open, and whose.

        Each session says whether somebody is using it now (`connected`) and whether it is this access key's
        user's (`mine`: None where the API does not tell), so reconciliation can leave others' sessions alone.
        """
        query = self._user_query(
            "RemoteitSessions", "",
            "sessions { id timestamp connected user { email } target { id name device { id name } } }", "email")
        login, owner = self._login(query, {})
        sessions = _expect(owner, "sessions", list, "the session list") or []
        me = _or_none(_untrusted.text, login.get("email"))
        me = me.lower() if me else None
        # A session whose id is not an id can be no record's, and is nothing this collection may close.
        return [_session(session, me) for session in sessions
                if isinstance(session, dict) and _or_none(_untrusted.connection_id, session.get("id"))]

    def application_types(self):
        if self._application_types is None:
            data = self.graphql("query RemoteitApplicationTypes { applicationTypes { id name port proxy } }")
            self._application_types = _expect(data, "applicationTypes", list, "the application types")
        return self._application_types

    # -- mutations ---------------------------------------------------------------------------

    def connect(self, service_id, host_ip, after_lost_answer=None):
        """Open a proxy. Not idempotent: see graphql() for after_lost_answer, which makes retries safe."""
        data = self.graphql(
            "mutation RemoteitConnect($serviceId: String!, $hostIP: String!) "
            "{ connect(serviceId: $serviceId, hostIP: $hostIP) { %s } }" % CONNECTION_FIELDS,
            {"serviceId": service_id, "hostIP": host_ip}, idempotent=False, after_lost_answer=after_lost_answer)
        return _connection(_expect(data, "connect", dict, "the new connection"))

    def disconnect(self, connection_id, service_id=None):
        """Close a connection: True when this call closed it, False when remote.it says it was already gone.

        Only remote.it's own word about this connection counts as gone: false, or a "not found" GraphQL error on
        disconnect (an HTTP 404 means api_url is wrong). If an answer was lost and the retry finds the connection
        gone, the lost request is what closed it.
        """
        lost = []
        try:
            data = self.graphql(
                "mutation RemoteitDisconnect($connectionId: String!, $serviceId: String) "
                "{ disconnect(connectionId: $connectionId, serviceId: $serviceId) }",
                {"connectionId": connection_id, "serviceId": service_id}, after_lost_answer=lambda: lost.append(1))
        except RemoteitError as exc:
            about_the_connection = exc.field == "disconnect" or (exc.field is None and "connection" in str(exc).lower())
            if exc.kind == "not_found" and about_the_connection:
                return bool(lost)
            raise
        result = data.get("disconnect")
        if not isinstance(result, bool):
            raise RemoteitError("malformed API response: disconnect answered %s" % shown(result), kind="response")
        return result or bool(lost)

    def _device(self, item):
        """A device as the collection uses it, or None (with a warning) where its id or name cannot be used."""
        problem = _problem(item, {"id": _untrusted.service_id, "name": _untrusted.text}) if isinstance(
            item, dict) else "it is not an object"
        if problem is None and not isinstance(item.get("services") or [], list):
            problem = "its services are not a list"
        if problem:
            self._left_out("a device", problem)
            return None
        services = []
        for service in item.get("services") or []:
            problem = _problem(service, {"id": _untrusted.service_id, "name": _untrusted.text}) if isinstance(
                service, dict) else "it is not an object"
            if problem:
                self._left_out("a service of device %s" % shown(item.get("name")), problem)
                continue
            services.append({
                "id": service["id"],
                "name": service.get("name") or "",
                "application": _whole_number(service.get("application")),
                "application_name": _or_none(_untrusted.text, service.get("title")),
                "port": _or_none(_untrusted.port, service.get("port")),
                "host": _or_none(_untrusted.text, service.get("host")),
                "state": _or_none(_untrusted.text, service.get("state")),
                "enabled": service.get("enabled") if isinstance(service.get("enabled"), bool) else None,
            })
        return {
            "id": item["id"],
            "name": item.get("name") or "",
            "state": _or_none(_untrusted.text, item.get("state")),
            "online": item.get("online") if isinstance(item.get("online"), bool) else None,
            "services": services,
        }

    def _left_out(self, what, problem):
        message = "left out %s that remote.it listed: %s" % (what, problem)
        if self._warn is not None and message not in self._warned:
            self._warned.add(message)
            self._warn(message)


def _session(session, me):
    target = session.get("target") if isinstance(session.get("target"), dict) else {}
    user = session.get("user")
    email = (_or_none(_untrusted.text, user.get("email")) or "").lower() if isinstance(user, dict) else ""
    return {
        "id": session["id"],
        "timestamp": session.get("timestamp"),
        "service_id": (_or_none(_untrusted.service_id, target.get("id")) or "").upper() or None,
        "connected": session.get("connected") if isinstance(session.get("connected"), bool) else None,
        "mine": (email == me) if email and me else None,
    }


def _expect(data, key, kind, what):
    value = data.get(key) if isinstance(data, dict) else None
    if value is not None and not isinstance(value, kind):
        raise RemoteitError("malformed API response: %s has an unexpected shape" % what, kind="response")
    return value


def _problem(item, checks):
    """What makes this item unusable, naming the field, or None."""
    for name, check in checks.items():
        try:
            check(item.get(name))
        except ValueError as exc:
            return "its %s: %s" % (name, exc)
    return None


def _or_none(check, value):
    """An informational field: kept where valid, else dropped (None)."""
    try:
        return _untrusted.optional(check, value)
    except ValueError:
        return None


def _whole_number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _connection(connection):
    """A connect answer, checked field by field before anything uses it (see UnusableConnectError).

    A port proxy answered with only a url is reached at the url's host and port. A reverse proxy is reached at its
    url alone: a port beside it is dropped, so nothing takes it for a port proxy.
    """
    if connection is None:
        raise RemoteitError("malformed API response: connect returned no connection", kind="response")
    connection_id = connection.get("id")
    try:
        _untrusted.connection_id(connection_id)
    except ValueError as exc:
        raise _unusable("id: %s" % exc, None) from None
    reverse_proxy = connection.get("reverseProxy")
    reverse_proxy = False if reverse_proxy is None else reverse_proxy
    host, port, url, timeout = (connection.get(name) for name in ("host", "port", "url", "timeout"))
    if reverse_proxy is True:
        port = None
    session = connection.get("session")
    try:
        if session is not None and not isinstance(session, dict):
            raise ValueError("session: it is not an object")
        session = session or {}
        try:
            _untrusted.optional(_untrusted.connection_id, session.get("id"))
        except ValueError as exc:
            raise ValueError("session.id: %s" % exc) from None
        if reverse_proxy is False and isinstance(url, str) and (host is None or port is None):
            with contextlib.suppress(ValueError):  # a url whose port is no number fails as the url below
                address = urlsplit(url)
                host, port = address.hostname if host is None else host, address.port if port is None else port
        _untrusted.proxy_address(reverse_proxy, host, port, url)
        try:
            _untrusted.optional(_untrusted.timeout, timeout)
        except ValueError as exc:
            raise ValueError("timeout: %s" % exc) from None
    except ValueError as exc:
        raise _unusable(str(exc), connection_id) from None
    target = session.get("target") if isinstance(session.get("target"), dict) else {}
    device = target.get("device") if isinstance(target.get("device"), dict) else {}
    return {
        "id": connection_id,
        "session_id": session.get("id"),
        "reverse_proxy": reverse_proxy,
        "host": host if host is not None else urlsplit(url).hostname,
        "port": port,
        "url": url,
        "created": _or_none(_untrusted.timestamp, connection.get("created")),  # else: now
        "timeout": timeout,
        "service_name": _or_none(_untrusted.text, target.get("name")),
        "device_id": _or_none(_untrusted.service_id, device.get("id")),
        "device_name": _or_none(_untrusted.text, device.get("name")),
    }


def _unusable(problem, connection_id):
    return UnusableConnectError("remote.it answered connect with a connection that cannot be used: %s" % problem,
                                connection_id)


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

    def __init__(self, message, sent, kind="network"):
        self.message = message
        self.sent = sent
        self.kind = kind
