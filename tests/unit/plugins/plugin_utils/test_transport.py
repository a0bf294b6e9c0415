# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The transport: signing, retries and backoff, proxies and TLS, and the error class of each failure."""

from __future__ import annotations

import base64
import errno
import http.server
import json
import socket
import ssl
import sys
import threading

import certifi
import pytest
import urllib3

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitClient
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
    ThrottledError,
    TlsError,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._transport import retry_after_seconds, sign_request

from .http_fakes import ORIGIN, SECRET, data, http_response, make_client, read_timeout


def test_signature_matches_the_documented_known_answer():
    headers = sign_request("AKTEST", SECRET, "POST", "https://api.remote.it/graphql/v1",
                           b'{"query":"{ login { id } }"}', "Thu, 01 Jan 2026 00:00:00 GMT")
    assert headers["Authorization"] == (
        'Signature keyId="AKTEST",algorithm="hmac-sha256",'
        'headers="(request-target) host date content-type content-length",'
        'signature="u2bE7hgRZ2w0tbGTqmcE1PiOFqp4q3WctfPsB49loCU="')
    assert headers["Host"] == "api.remote.it"
    assert headers["Date"] == "Thu, 01 Jan 2026 00:00:00 GMT"


def test_signature_signs_the_port_of_a_local_sandbox():
    with_port = sign_request("AKTEST", SECRET, "POST", "http://127.0.0.1:8123/graphql/v1", b"{}", "d")
    assert with_port["Host"] == "127.0.0.1:8123"
    other_port = sign_request("AKTEST", SECRET, "POST", "http://127.0.0.1:8124/graphql/v1", b"{}", "d")
    assert with_port["Authorization"] != other_port["Authorization"]


def test_a_secret_that_is_not_base64_is_a_credentials_error():
    with pytest.raises(CredentialsError) as error:
        sign_request("AKTEST", "not base64!", "POST", "https://api.remote.it/graphql/v1", b"{}", "d")
    assert error.value.kind == "credentials"
    assert "not base64!" not in str(error.value)


def test_each_request_is_signed_over_the_exact_body_sent():
    client = make_client(data(applicationTypes=[]))
    client.application_types()
    post = client._pool.posts[0]
    assert post["headers"]["Authorization"].startswith('Signature keyId="AKTEST"')
    assert "applicationTypes" in post["body"]["query"]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_queries_are_retried_on_throttling_and_gateway_errors(status):
    client = make_client(http_response(status, text="busy"), data(applicationTypes=[{"id": 28}]))
    assert client.application_types() == [{"id": 28}]
    assert len(client._pool.posts) == 2
    assert len(client._pool.sleeps) == 1 and 0 < client._pool.sleeps[0] <= 1


def test_retry_after_is_honoured():
    client = make_client(http_response(429, text="slow down", headers={"Retry-After": "7"}), data(applicationTypes=[]))
    client.application_types()
    assert client._pool.sleeps == [7.0]


def test_backoff_grows_and_gives_up_after_the_configured_retries():
    client = make_client(*[http_response(503, text="down")] * 4, retries=3)
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert len(client._pool.posts) == 4
    first, second, third = client._pool.sleeps
    assert 0.5 <= first <= 1 <= second <= 2 <= third <= 4
    assert "HTTP 503 (after 3 retries)" in str(error.value)


def test_throttling_that_outlasts_retries_is_reported_as_such():
    client = make_client(*[http_response(429, text="")] * 2, retries=1)
    with pytest.raises(ThrottledError) as error:
        client.application_types()
    assert error.value.kind == "throttled"
    assert "429" in str(error.value)


def test_connection_errors_of_queries_are_retried():
    reset = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    client = make_client(reset, data(applicationTypes=[]))
    client.application_types()
    assert len(client._pool.posts) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_connect_is_ambiguous_because_it_may_have_opened_a_proxy(status):
    client = make_client(http_response(status, text="bad gateway"))
    with pytest.raises(AmbiguousResultError, match="HTTP %d" % status):
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert len(client._pool.posts) == 1


def test_connect_is_retried_when_throttled():
    connection = {"id": "c1", "host": "proxy.example", "port": 30000, "reverseProxy": False}
    client = make_client(http_response(429, text=""), data(connect=connection))
    assert client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")["id"] == "c1"
    assert len(client._pool.posts) == 2


def test_a_lost_connect_response_is_ambiguous_not_retried():
    client = make_client(read_timeout())
    with pytest.raises(AmbiguousResultError):
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert len(client._pool.posts) == 1


@pytest.mark.parametrize("status, body", [(401, "Unauthorized"), (403, '{"errors":[{"message":"bad signature"}]}')])
def test_rejected_credentials_mention_clock_skew_and_never_the_secret(status, body):
    client = make_client(http_response(status, text=body))
    with pytest.raises(AuthError) as error:
        client.sessions()
    message = str(error.value)
    assert error.value.kind == "auth" and error.value.status == status
    assert "clock" in message and "AKTEST" in message
    assert SECRET not in message


def test_graphql_errors_become_messages_with_a_kind():
    client = make_client(http_response(body={"errors": [{"message": "Target device is inactive"}], "data": None}))
    with pytest.raises(OfflineError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert error.value.kind == "offline"
    assert "Target device is inactive" in str(error.value)


def test_api_error_text_is_bounded_and_control_characters_escaped():
    name = "\x1b[31m" + "x" * 10000 + "\nforged line"
    client = make_client(data(), http_response(body={"errors": [{"message": "Device %s is inactive" % name}]}))
    client._pool.answers.pop(0)
    with pytest.raises(RemoteitError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    message = str(error.value)
    assert "\x1b" not in message and "\n" not in message
    assert "\\x1b[31m" in message and len(message) < 400


@pytest.mark.parametrize("error, error_class, field", [
    ({"message": "whatever the wording", "extensions": {"code": "UNAUTHENTICATED"}}, AuthError, None),
    ({"message": "Device x is inactive", "extensions": {"code": "forbidden"}}, AuthError, None),
    ({"message": "Connection not found", "extensions": {"code": "BAD_USER_INPUT"}}, InvalidInputError, None),
    ({"message": "nope", "extensions": {"code": "NOT_FOUND"}, "path": ["disconnect"]}, NotFoundError, "disconnect"),
    ({"message": "slow down", "extensions": {"code": "RATE_LIMITED"}, "path": ["connect"]}, ThrottledError, "connect"),
    ({"message": "Device x is inactive", "path": ["connect"]}, OfflineError, "connect"),
    ({"message": "Service not found"}, NotFoundError, None),
    ({"message": "Service does not exist", "extensions": {"code": "SOMETHING_ELSE"}}, NotFoundError, None),
    ({"message": "Permission denied"}, AuthError, None),
    ({"message": "quota exceeded", "path": [0]}, RemoteitError, None),
])
def test_error_classes_come_from_the_error_structure_before_its_wording(error, error_class, field):
    client = make_client(http_response(body={"errors": [error]}))
    with pytest.raises(RemoteitError) as raised:
        client.application_types()
    assert (type(raised.value), raised.value.field) == (error_class, field)


@pytest.mark.parametrize("status, error_class", [(401, AuthError), (403, AuthError), (404, EndpointError),
                                                 (429, ThrottledError), (301, EndpointError)])
def test_http_statuses_have_their_error_class_whatever_the_body_says(status, error_class):
    body = {"errors": [{"message": "Connection not found", "extensions": {"code": "NOT_FOUND"}}]}
    client = make_client(http_response(status, body=body), retries=0)
    with pytest.raises(RemoteitError) as raised:
        client.sessions()
    assert (type(raised.value), raised.value.status) == (error_class, status)


@pytest.mark.parametrize("status", [400, 500])
def test_graphql_errors_of_another_http_status_keep_their_class_and_field(status):
    body = {"errors": [{"message": "nope", "path": ["disconnect"], "extensions": {"code": "NOT_FOUND"}}]}
    client = make_client(http_response(status, body=body), retries=0)
    with pytest.raises(NotFoundError) as raised:
        client.sessions()
    assert (raised.value.status, raised.value.field, raised.value.kind) == (status, "disconnect", "not_found")


def test_a_connect_is_sent_at_most_retries_plus_one_times_however_it_fails():
    """Throttling, lost answers and refused connections share one budget of retries + 1 requests."""
    closed = []
    client = make_client(http_response(status=429), read_timeout(), http_response(status=503),
                         http_response(status=503), http_response(status=503), retries=3)
    with pytest.raises(AmbiguousResultError):
        client.connect("80:00:00:00:01:00:00:01", "255.255.255.255", after_lost_answer=lambda: closed.append(1))
    assert len(client._pool.posts) == 4
    assert len(closed) == 3, "each lost answer was reconciled before the next attempt"


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_a_missing_http_library_is_reported_when_a_request_is_first_needed(monkeypatch):
    client = RemoteitClient("AKTEST", SECRET, ORIGIN)  # building a client, as a cached inventory does, needs no HTTP
    monkeypatch.setitem(sys.modules, "urllib3", None)
    with pytest.raises(DependencyError, match="'requests' is required on the Ansible controller") as caught:
        client.graphql("{ login { id } }")
    assert caught.value.kind == "dependency"


def ssl_failure(reason):
    """urllib3's SSLError as it wraps the ssl module's (as a real failure has it)."""
    return urllib3.exceptions.SSLError(ssl.SSLError(1, reason))


@pytest.fixture
def plain_http_server():
    """A local server that speaks HTTP only: its URL."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_https_to_a_plain_http_server_says_it_does_not_speak_tls(plain_http_server):
    url = "https://%s/graphql/v1" % plain_http_server
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url=url, retries=3, sleep=pytest.fail)
    with pytest.raises(TlsError) as error:
        client.application_types()
    assert str(error.value) == "the server at %s does not speak TLS (use http:// if that is intended)" % url
    assert error.value.kind == "tls"


@pytest.mark.parametrize("reason", ["[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
                                    "[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1000)",
                                    "[SSL: PACKET_LENGTH_TOO_LONG] packet length too long (_ssl.c:1000)"])
def test_no_tls_is_recognised_whatever_openssl_calls_it(reason):
    client = make_client(ssl_failure(reason))
    with pytest.raises(TlsError, match="does not speak TLS") as error:
        client.application_types()
    assert "validate_certs" not in str(error.value)


def test_an_unverified_certificate_points_at_the_ca_bundle_before_validate_certs():
    client = make_client(ssl_failure("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                     "self-signed certificate (_ssl.c:1006)"))
    with pytest.raises(TlsError) as error:
        client.application_types()
    message = str(error.value)
    assert message.startswith("the TLS certificate of https://api.remote.it/graphql/v1 could not be verified")
    assert "self-signed certificate" in message
    assert message.index("REQUESTS_CA_BUNDLE") < message.index("validate_certs")
    assert len(client._pool.posts) == 1


def test_another_tls_failure_gives_no_advice_on_certificates():
    client = make_client(ssl_failure("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"))
    with pytest.raises(TlsError) as error:
        client.application_types()
    assert str(error.value) == ("the TLS handshake with https://api.remote.it/graphql/v1 failed ([SSL: "
                                "SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006))")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123", "https://api.remote.it/graphql"])
def test_http_404_names_the_url_and_the_endpoint_path(url):
    client = make_client(http_response(404, text="Not Found"), api_url=url)
    with pytest.raises(EndpointError) as error:
        client.application_types()
    assert str(error.value) == (
        "there is no remote.it API at %s (HTTP 404 Not Found): api_url must be the full URL of the GraphQL "
        "endpoint, whose path is /graphql/v1, such as https://api.remote.it/graphql/v1" % url)
    assert error.value.kind == "endpoint"


def test_an_http_error_page_is_not_read_as_an_api_answer():
    client = make_client(http_response(400, text="<h1>Device not found</h1>"))
    with pytest.raises(RemoteitError) as error:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert error.value.kind == "api"


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_say_where_the_key_pair_came_from(status):
    client = make_client(http_response(status, text="Unauthorized"))
    with pytest.raises(AuthError) as error:
        client.sessions()
    assert str(error.value) == (
        "remote.it rejected the request signature for access key id 'AKTEST' (HTTP %d): the access key id and "
        "secret came from the task options (access_key_id, secret_access_key). Check that key pair there, and this "
        "machine's clock: signatures carry the time, so clock skew of a few minutes also fails." % status)


class FakeApiOrProxy(http.server.BaseHTTPRequestHandler):
    """Answers every POST with an empty list of application types, and keeps what it was sent.

    As a proxy, `server.connect_answer` is what it answers a CONNECT, and `server.drop_posts` makes it read each POST
    and close the connection without an answer, as a proxy whose upstream went away does.
    """

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        self.server.received.append({"request": "POST " + self.path,
                                     "proxy_authorization": self.headers["Proxy-Authorization"],
                                     "body": self.rfile.read(int(self.headers["Content-Length"]))})
        if self.server.drop_posts:
            self.close_connection = True
            return
        body = b'{"data":{"applicationTypes":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self):  # noqa: N802  pylint: disable=invalid-name
        self.server.received.append({"request": "CONNECT " + self.path,
                                     "proxy_authorization": self.headers["Proxy-Authorization"]})
        self.send_response(self.server.connect_answer)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True

    def log_message(self, *_args):
        pass


@pytest.fixture
def server():
    """A local HTTP server that answers GraphQL posts, directly or as a proxy; `.address` is its host:port."""
    http_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeApiOrProxy)
    http_server.received, http_server.drop_posts, http_server.connect_answer = [], False, 407
    http_server.address = "127.0.0.1:%d" % http_server.server_address[1]
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield http_server
    http_server.shutdown()
    http_server.server_close()


@pytest.fixture
def closed_port():
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def environment(monkeypatch):
    """The process environment without proxies or CA bundles, for a test to set its own."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle", "curl_ca_bundle"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def basic(credentials):
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def test_requests_go_through_the_proxy_the_environment_names_with_its_credentials(environment, server):
    environment.setenv("HTTP_PROXY", "http://ops:p%%40ss@%s" % server.address)
    url = "http://api.example.invalid/graphql/v1"  # resolvable by the proxy alone
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url=url, retries=0)
    assert client.application_types() == []
    [request] = server.received
    assert (request["request"], request["proxy_authorization"]) == ("POST " + url, basic(b"ops:p@ss"))
    assert json.loads(request["body"])["query"].startswith("query RemoteitApplicationTypes")


def test_https_goes_through_the_proxy_in_a_tunnel_and_a_refused_tunnel_is_retried_as_never_sent(environment, server):
    environment.setenv("HTTPS_PROXY", "http://ops:hunter2@%s" % server.address)
    sleeps = []
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, retries=1, sleep=sleeps.append)
    with pytest.raises(NetworkError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert not isinstance(error.value, AmbiguousResultError), "nothing reached remote.it, so nothing was opened"
    assert str(error.value) == ("cannot reach https://api.remote.it/graphql/v1 through the proxy the environment names: "
                                "Tunnel connection failed: 407 Proxy Authentication Required (after 1 retries)")
    assert [request["request"] for request in server.received] == ["CONNECT api.remote.it:443"] * 2
    assert server.received[0]["proxy_authorization"] == basic(b"ops:hunter2")
    assert len(sleeps) == 1


def test_a_connect_the_proxy_took_but_never_answered_is_ambiguous(environment, server):
    environment.setenv("HTTP_PROXY", server.address)  # host:port alone is an http:// proxy
    server.drop_posts = True
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url="http://api.example.invalid/graphql/v1", retries=2)
    with pytest.raises(AmbiguousResultError, match="through the proxy the environment names"):
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert len(server.received) == 1, "a connect that may have opened a proxy is not sent again blindly"


@pytest.mark.parametrize("no_proxy, host", [
    ("localhost,127.0.0.1", "127.0.0.1"),
    ("127.0.0.0/8", "127.0.0.1"),
    ("example.com, localhost:%(port)s", "localhost"),
])
def test_no_proxy_sends_requests_for_its_hosts_directly(environment, server, closed_port, no_proxy, host):
    port = server.server_address[1]
    environment.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % closed_port)
    environment.setenv("NO_PROXY", no_proxy % {"port": port})
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url="http://%s:%d/graphql/v1" % (host, port), retries=0)
    assert client.application_types() == []
    assert [request["request"] for request in server.received] == ["POST /graphql/v1"]


def test_a_proxy_that_cannot_be_reached_is_named_without_its_credentials(environment, closed_port):
    environment.setenv("HTTPS_PROXY", "http://ops:hunter2@127.0.0.1:%d" % closed_port)
    sleeps = []
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, retries=1, sleep=sleeps.append)
    with pytest.raises(NetworkError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert str(error.value) == ("cannot reach https://api.remote.it/graphql/v1 through the proxy the environment names: "
                                "[Errno %d] Connection refused (after 1 retries)" % errno.ECONNREFUSED)
    assert not isinstance(error.value, AmbiguousResultError)
    assert len(sleeps) == 1, "a request that never left is retried, even a connect"


@pytest.mark.parametrize("proxy", ["ftp://ops:hunter2@proxy.example:21", "http://ops:hunter2@proxy.example:99999",
                                   "http://ops:hunter2@", "http:ops:hunter2@127.0.0.1:9"])
def test_a_proxy_url_that_cannot_be_used_is_invalid_input_without_its_password(environment, proxy):
    environment.setenv("HTTPS_PROXY", proxy)
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, sleep=pytest.fail)
    with pytest.raises(InvalidInputError) as error:
        client.application_types()
    assert str(error.value).startswith("the environment names a proxy (HTTPS_PROXY or ALL_PROXY) whose URL cannot be "
                                       "used (")
    assert error.value.kind == "invalid_input" and "hunter2" not in str(error.value)


def test_a_socks_proxy_without_pysocks_says_what_to_install(environment):
    environment.setenv("ALL_PROXY", "socks5h://127.0.0.1:1080")
    import requests.adapters  # pylint: disable=import-outside-toplevel
    import requests.exceptions  # pylint: disable=import-outside-toplevel

    def without_pysocks(*_args, **_kwargs):  # what requests has in its place when PySocks is not installed
        raise requests.exceptions.InvalidSchema("Missing dependencies for SOCKS support.")

    environment.setattr(requests.adapters, "SOCKSProxyManager", without_pysocks)
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, sleep=pytest.fail)
    with pytest.raises(DependencyError) as error:
        client.application_types()
    assert str(error.value) == ("the environment names a SOCKS proxy (HTTPS_PROXY or ALL_PROXY), which needs the "
                                "Python library PySocks: pip install pysocks")
    assert error.value.kind == "dependency"


def test_a_refused_connection_is_not_ambiguous_and_says_why(environment, closed_port):
    url = "http://127.0.0.1:%d/graphql/v1" % closed_port
    sleeps = []
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url=url, retries=2, sleep=sleeps.append)
    with pytest.raises(NetworkError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert not isinstance(error.value, AmbiguousResultError)
    assert str(error.value) == "cannot reach %s: [Errno %d] Connection refused (after 2 retries)" % (url, errno.ECONNREFUSED)
    assert (error.value.kind, len(sleeps)) == ("network", 2)


@pytest.mark.parametrize("failure, sent", [
    (urllib3.exceptions.ConnectTimeoutError(None, "timed out"), False),
    (urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer")),
     True),
])
def test_a_connect_is_ambiguous_only_when_its_request_may_have_left(failure, sent):
    client = make_client(failure, data(connect={"id": "c1", "host": "proxy.example", "port": 30000}))
    if sent:
        with pytest.raises(AmbiguousResultError):
            client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
        assert len(client._pool.posts) == 1
    else:
        assert client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")["id"] == "c1"
        assert len(client._pool.posts) == 2


def test_each_request_waits_request_timeout_to_connect_and_to_read():
    client = make_client(data(applicationTypes=[]), request_timeout=7)
    client.application_types()
    timeout = client._pool.posts[0]["timeout"]
    assert (timeout.connect_timeout, timeout.read_timeout) == (7, 7)


def test_a_redirect_is_not_followed_but_named():
    client = make_client(http_response(301, text="", headers={"Location": "https://api.remote.it/graphql/v2"}),
                         api_url="http://api.remote.it/graphql/v1")
    with pytest.raises(EndpointError) as error:
        client.application_types()
    assert str(error.value) == ("http://api.remote.it/graphql/v1 redirects (HTTP 301) to "
                                "'https://api.remote.it/graphql/v2': set api_url to the URL of the API itself")
    assert (error.value.kind, len(client._pool.posts)) == ("endpoint", 1)


def test_an_access_key_id_that_cannot_go_in_a_header_is_a_credentials_error():
    client = make_client()
    client.key_id = "AKTEST\n"
    with pytest.raises(CredentialsError) as error:
        client.application_types()
    assert error.value.kind == "credentials" and client._pool.posts == []
    assert str(error.value).startswith("the access key id 'AKTEST\\n' has characters no access key id has")


@pytest.mark.parametrize("validate_certs, environ, expected", [
    (True, {}, {"ca_certs": certifi.where()}),
    (True, {"CURL_CA_BUNDLE": "/"}, {"ca_cert_dir": "/"}),  # a directory of hashed certificates
    (True, {"CURL_CA_BUNDLE": "/", "REQUESTS_CA_BUNDLE": certifi.where()}, {"ca_certs": certifi.where()}),
    (False, {"REQUESTS_CA_BUNDLE": certifi.where()}, {}),
])
def test_certificates_are_verified_as_requests_would_verify_them(environment, server, validate_certs, environ, expected):
    for name, value in environ.items():
        environment.setenv(name, value)
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url="http://%s/graphql/v1" % server.address,
                            validate_certs=validate_certs)
    client.application_types()
    settings = client._pool.connection_pool_kw
    assert {name: settings[name] for name in ("cert_reqs", "ca_certs", "ca_cert_dir") if settings.get(name)} \
        == dict(expected, cert_reqs="CERT_REQUIRED" if validate_certs else "CERT_NONE")


def test_a_ca_bundle_that_does_not_exist_is_named(environment):
    environment.setenv("REQUESTS_CA_BUNDLE", "/nowhere/ca.pem")
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, sleep=pytest.fail)
    with pytest.raises(InvalidInputError) as error:
        client.application_types()
    assert str(error.value) == ("the environment variable REQUESTS_CA_BUNDLE names '/nowhere/ca.pem', which does not "
                                "exist: point it at the certificate (PEM) of the CA that signs the API's certificate")
    assert error.value.kind == "invalid_input"


def test_a_cause_that_hides_its_context_is_the_reason_given():
    """urllib3 1.26 raises a reset's error `from None` over a TypeError of its own: the reset is the reason."""
    def reset_hiding_its_context():
        try:
            raise TypeError("getresponse() got an unexpected keyword argument 'buffering'")
        except TypeError:
            raise ConnectionResetError(104, "Connection reset by peer") from None

    with pytest.raises(ConnectionResetError) as reset:
        reset_hiding_its_context()
    client = make_client(urllib3.exceptions.ProtocolError("Connection aborted.", reset.value), retries=0)
    with pytest.raises(RemoteitError, match=r"Connection reset by peer$"):
        client.application_types()
