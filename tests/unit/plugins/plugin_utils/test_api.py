# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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

from ansible_collections.community.remoteit.plugins.plugin_utils._api import (
    AmbiguousResultError,
    RemoteitClient,
    RemoteitError,
    normalize_api_url,
    retry_after_seconds,
    sign_request,
)

SECRET = "c2VjcmV0LWtleS1ieXRlcw=="
ORIGIN = "the access key id and secret came from the task options (access_key_id, secret_access_key)"


def http_response(status=200, body=None, text=None, headers=None):
    """An HTTP answer as urllib3 gives it to the client."""
    return urllib3.HTTPResponse(body=(text if text is not None else json.dumps(body)).encode("utf-8"), status=status,
                                headers=headers)


class FakePool:
    """Answers requests from a queue, as the client's urllib3 pool would; an exception in the queue is raised instead."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.posts = []

    def urlopen(self, method, url, body, headers, retries, redirect, timeout):
        assert (method, retries, redirect) == ("POST", False, False), "the client retries and redirects itself"
        self.posts.append({"url": url, "body": json.loads(body), "headers": headers, "timeout": timeout})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(*answers, **kwargs):
    """A client over a FakePool; the pool also records the backoff sleeps."""
    pool = FakePool(*answers)
    pool.sleeps = []
    kwargs.setdefault("api_url", "https://api.remote.it/graphql/v1")
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, sleep=pool.sleeps.append, **kwargs)
    client._pool = pool
    return client


def read_timeout():
    return urllib3.exceptions.ReadTimeoutError(None, "/graphql/v1", "Read timed out. (read timeout=30)")


def data(**values):
    return http_response(body={"data": values})


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
    with pytest.raises(RemoteitError) as error:
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
    with pytest.raises(RemoteitError) as error:
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
    with pytest.raises(RemoteitError) as error:
        client.sessions()
    message = str(error.value)
    assert error.value.kind == "auth" and error.value.status == status
    assert "clock" in message and "AKTEST" in message
    assert SECRET not in message


def test_graphql_errors_become_messages_with_a_kind():
    client = make_client(http_response(body={"errors": [{"message": "Target device is inactive"}], "data": None}))
    with pytest.raises(RemoteitError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert error.value.kind == "offline"
    assert "Target device is inactive" in str(error.value)


@pytest.mark.parametrize("response", [
    http_response(200, text="<html>proxy error</html>"),
    http_response(200, text="[1, 2]"),
    http_response(200, body={"data": {"login": {"sessions": "many"}}}),
    http_response(200, body={"nothing": True}),
])
def test_malformed_responses_are_reported_not_crashed_on(response):
    client = make_client(response)
    with pytest.raises(RemoteitError) as error:
        client.sessions()
    assert error.value.kind == "response"
    assert "malformed API response" in str(error.value)


def test_connect_without_an_address_is_malformed():
    client = make_client(data(connect={"id": "c1", "host": None, "url": None}))
    with pytest.raises(RemoteitError, match="malformed"):
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")


def test_a_null_login_means_the_credentials_are_not_valid():
    client = make_client(data(login=None))
    with pytest.raises(RemoteitError) as error:
        client.sessions()
    assert error.value.kind == "auth"


def device(index):
    return {"id": "80:00:00:00:00:00:00:%02X" % index, "name": "dev-%d" % index, "state": "active", "online": True,
            "services": [{"id": "80:00:00:00:00:00:01:%02X" % index, "name": "ssh", "application": 28,
                          "title": "SSH", "port": 22, "host": "localhost", "state": "active", "enabled": True}]}


def test_devices_are_paged_until_has_more_is_false():
    first = data(login={"devices": {"total": 3, "hasMore": True, "items": [device(1), device(2)]}})
    second = data(login={"devices": {"total": 3, "hasMore": False, "items": [device(3)]}})
    client = make_client(first, second)
    devices = list(client.iter_devices(name="dev"))
    assert [item["name"] for item in devices] == ["dev-1", "dev-2", "dev-3"]
    assert [post["body"]["variables"]["from"] for post in client._pool.posts] == [0, 2]
    assert client._pool.posts[0]["body"]["variables"]["size"] == 1000
    assert devices[0]["services"][0] == {"id": "80:00:00:00:00:00:01:01", "name": "ssh", "application": 28,
                                         "application_name": "SSH", "port": 22, "host": "localhost",
                                         "state": "active", "enabled": True}


def test_account_id_scopes_queries_to_the_organisation():
    client = make_client(data(login={"account": {"sessions": []}}), account_id="org-1")
    assert client.sessions() == []
    assert "account(id: $accountId)" in client._pool.posts[0]["body"]["query"]
    assert client._pool.posts[0]["body"]["variables"]["accountId"] == "org-1"


def test_an_account_the_key_cannot_use_is_named():
    client = make_client(data(login={"account": None}), account_id="org-x")
    with pytest.raises(RemoteitError, match="org-x"):
        client.sessions()


@pytest.mark.parametrize("answer, closed", [
    (data(disconnect=True), True),
    (data(disconnect=False), False),
    (http_response(body={"errors": [{"message": "Connection not found"}]}), False),
    (http_response(body={"errors": [{"message": "no such thing", "path": ["disconnect"],
                                    "extensions": {"code": "NOT_FOUND"}}]}), False),
])
def test_disconnect_treats_an_already_gone_connection_as_not_closed(answer, closed):
    client = make_client(answer)
    assert client.disconnect("c1", "80:00:00:00:01:00:00:02") is closed


@pytest.mark.parametrize("errors", [
    [{"message": "Service not found"}],
    [{"message": "Connection not found", "path": ["login"]}],
])
def test_only_the_api_saying_so_about_the_connection_makes_it_gone(errors):
    """A "not found" about something else (the service, another field) leaves the record to close later."""
    client = make_client(http_response(body={"errors": errors}))
    with pytest.raises(RemoteitError) as error:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert error.value.kind == "not_found"


def test_a_disconnect_whose_answer_was_lost_is_retried_and_counts_as_closed():
    """The lost request closed it; the retry finds it gone. Reporting "already gone" would be untrue."""
    client = make_client(read_timeout(),
                         http_response(body={"errors": [{"message": "Connection not found", "path": ["disconnect"]}]}))
    assert client.disconnect("c1", "80:00:00:00:01:00:00:02") is True
    assert len(client._pool.posts) == 2


@pytest.mark.parametrize("error, kind, field", [
    ({"message": "whatever the wording", "extensions": {"code": "UNAUTHENTICATED"}}, "auth", None),
    ({"message": "Device x is inactive", "path": ["connect"]}, "offline", "connect"),
    ({"message": "nope", "extensions": {"code": "NOT_FOUND"}, "path": ["disconnect"]}, "not_found", "disconnect"),
    ({"message": "Service not found"}, "not_found", None),
])
def test_error_kinds_come_from_the_error_structure_before_its_wording(error, kind, field):
    client = make_client(http_response(body={"errors": [error]}))
    with pytest.raises(RemoteitError) as raised:
        client.application_types()
    assert (raised.value.kind, raised.value.field) == (kind, field)


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
    with pytest.raises(RemoteitError, match="'requests' is required on the Ansible controller") as caught:
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
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert str(error.value) == "the server at %s does not speak TLS (use http:// if that is intended)" % url
    assert error.value.kind == "tls"


@pytest.mark.parametrize("reason", ["[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
                                    "[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1000)",
                                    "[SSL: PACKET_LENGTH_TOO_LONG] packet length too long (_ssl.c:1000)"])
def test_no_tls_is_recognised_whatever_openssl_calls_it(reason):
    client = make_client(ssl_failure(reason))
    with pytest.raises(RemoteitError, match="does not speak TLS") as error:
        client.application_types()
    assert "validate_certs" not in str(error.value)


def test_an_unverified_certificate_points_at_the_ca_bundle_before_validate_certs():
    client = make_client(ssl_failure("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                     "self-signed certificate (_ssl.c:1006)"))
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    message = str(error.value)
    assert message.startswith("the TLS certificate of https://api.remote.it/graphql/v1 could not be verified")
    assert "self-signed certificate" in message
    assert message.index("REQUESTS_CA_BUNDLE") < message.index("validate_certs")
    assert len(client._pool.posts) == 1


def test_another_tls_failure_gives_no_advice_on_certificates():
    client = make_client(ssl_failure("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"))
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert str(error.value) == ("the TLS handshake with https://api.remote.it/graphql/v1 failed ([SSL: "
                                "SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006))")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123", "https://api.remote.it/graphql"])
def test_http_404_names_the_url_and_the_endpoint_path(url):
    client = make_client(http_response(404, text="Not Found"), api_url=url)
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert str(error.value) == (
        "there is no remote.it API at %s (HTTP 404 Not Found): api_url must be the full URL of the GraphQL "
        "endpoint, whose path is /graphql/v1, such as https://api.remote.it/graphql/v1" % url)
    assert error.value.kind == "endpoint"


def test_disconnect_does_not_take_http_404_for_a_connection_already_gone():
    client = make_client(http_response(404, text="Not Found"))
    with pytest.raises(RemoteitError) as error:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert error.value.kind == "endpoint"


def test_an_http_error_page_is_not_read_as_an_api_answer():
    client = make_client(http_response(400, text="<h1>Device not found</h1>"))
    with pytest.raises(RemoteitError) as error:
        client.disconnect("c1", "80:00:00:00:01:00:00:02")
    assert error.value.kind == "api"


@pytest.mark.parametrize("url, normalized", [
    ("https://api.remote.it/graphql/v1/", "https://api.remote.it/graphql/v1"),
    ("http://127.0.0.1:8123/graphql/v1", "http://127.0.0.1:8123/graphql/v1"),
    ("HTTPS://api.remote.it/graphql/v1", "HTTPS://api.remote.it/graphql/v1"),
])
def test_api_url_loses_only_a_trailing_slash(url, normalized):
    assert normalize_api_url(url) == normalized


@pytest.mark.parametrize("url", ["api.remote.it/graphql/v1", "localhost:8123/graphql/v1", "ftp://api.remote.it/x",
                                 "https://", "", None])
def test_an_api_url_that_is_not_http_is_invalid_input(url):
    with pytest.raises(RemoteitError) as error:
        normalize_api_url(url)
    assert error.value.kind == "invalid_input"
    assert str(error.value) == ("api_url %r is not an http:// or https:// URL: give the full URL of the API, such as "
                                "https://api.remote.it/graphql/v1" % (url,))


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_say_where_the_key_pair_came_from(status):
    client = make_client(http_response(status, text="Unauthorized"))
    with pytest.raises(RemoteitError) as error:
        client.sessions()
    assert str(error.value) == (
        "remote.it rejected the request signature for access key id 'AKTEST' (HTTP %d): the access key id and "
        "secret came from the task options (access_key_id, secret_access_key). Check that key pair there, and this "
        "machine's clock: signatures carry the time, so clock skew of a few minutes also fails." % status)


class GraphqlAnswerer(http.server.BaseHTTPRequestHandler):
    """Answers every POST with an empty list of application types and keeps what it was sent."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        self.server.received.append({"target": self.path, "proxy_authorization": self.headers["Proxy-Authorization"],
                                     "body": self.rfile.read(int(self.headers["Content-Length"]))})
        body = b'{"data":{"applicationTypes":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def answerer():
    """A local HTTP server answering GraphQL posts, directly or as a proxy: (its host:port, what it received)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GraphqlAnswerer)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % server.server_address[1], server.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def no_proxy_environment(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_requests_go_through_the_proxy_the_environment_names_with_its_credentials(no_proxy_environment, answerer):
    address, received = answerer
    no_proxy_environment.setenv("HTTP_PROXY", "http://ops:p%%40ss@%s" % address)
    url = "http://api.example.invalid/graphql/v1"  # resolvable by the proxy alone
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url=url, retries=0)
    assert client.application_types() == []
    [request] = received
    assert request["target"] == url
    assert request["proxy_authorization"] == "Basic " + base64.b64encode(b"ops:p@ss").decode("ascii")
    assert json.loads(request["body"])["query"].startswith("query RemoteitApplicationTypes")


def test_no_proxy_sends_requests_for_its_hosts_directly(no_proxy_environment, answerer, closed_port):
    address, received = answerer
    no_proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % closed_port)
    no_proxy_environment.setenv("NO_PROXY", "localhost,127.0.0.1")
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url="http://%s/graphql/v1" % address, retries=0)
    assert client.application_types() == []
    assert [request["target"] for request in received] == ["/graphql/v1"]


def test_a_proxy_that_cannot_be_reached_is_named_without_its_credentials(no_proxy_environment, closed_port):
    no_proxy_environment.setenv("HTTPS_PROXY", "http://ops:hunter2@127.0.0.1:%d" % closed_port)
    sleeps = []
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, retries=1, sleep=sleeps.append)
    with pytest.raises(RemoteitError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    message = str(error.value)
    assert message.startswith("cannot reach https://api.remote.it/graphql/v1 through the proxy the environment names: ")
    assert "Connection refused" in message and "hunter2" not in message
    assert not isinstance(error.value, AmbiguousResultError), "nothing reached remote.it, so nothing was opened"
    assert len(sleeps) == 1, "a request that never left is retried, even a connect"


def test_a_refused_connection_is_not_ambiguous_and_says_why(no_proxy_environment, closed_port):
    url = "http://127.0.0.1:%d/graphql/v1" % closed_port
    sleeps = []
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url=url, retries=2, sleep=sleeps.append)
    with pytest.raises(RemoteitError) as error:
        client.connect("80:00:00:00:01:00:00:02", "255.255.255.255")
    assert not isinstance(error.value, AmbiguousResultError)
    assert str(error.value) == "cannot reach %s: [Errno %d] Connection refused (after 2 retries)" % (url, errno.ECONNREFUSED)
    assert (error.value.kind, len(sleeps)) == ("network", 2)


def test_a_redirect_is_not_followed_but_named():
    client = make_client(http_response(301, text="", headers={"Location": "https://api.remote.it/graphql/v2"}),
                         api_url="http://api.remote.it/graphql/v1")
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert str(error.value) == ("http://api.remote.it/graphql/v1 redirects (HTTP 301) to "
                                "'https://api.remote.it/graphql/v2': set api_url to the URL of the API itself")
    assert (error.value.kind, len(client._pool.posts)) == ("endpoint", 1)


@pytest.mark.parametrize("environment, expected", [
    ({}, {"ca_certs": certifi.where()}),
    ({"CURL_CA_BUNDLE": "/etc/ca.pem"}, {"ca_certs": "/etc/ca.pem"}),
    ({"CURL_CA_BUNDLE": "/etc/ca.pem", "REQUESTS_CA_BUNDLE": "/etc/private-ca.pem"}, {"ca_certs": "/etc/private-ca.pem"}),
    ({"REQUESTS_CA_BUNDLE": "/"}, {"ca_cert_dir": "/"}),  # a directory of hashed certificates
])
def test_certificates_are_verified_against_the_bundle_requests_would_use(no_proxy_environment, answerer, environment,
                                                                         expected):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        no_proxy_environment.delenv(name, raising=False)
    for name, value in environment.items():
        no_proxy_environment.setenv(name, value)
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, api_url="http://%s/graphql/v1" % answerer[0])
    client.application_types()
    settings = client._pool.connection_pool_kw
    assert {name: settings.get(name) for name in ("cert_reqs", "ca_certs", "ca_cert_dir") if settings.get(name)} \
        == dict(expected, cert_reqs="CERT_REQUIRED")


def test_a_socks_proxy_without_pysocks_says_what_to_install(no_proxy_environment, recwarn):
    no_proxy_environment.setenv("ALL_PROXY", "socks5h://127.0.0.1:1080")
    no_proxy_environment.setitem(sys.modules, "socks", None)
    no_proxy_environment.delitem(sys.modules, "urllib3.contrib.socks", raising=False)
    client = RemoteitClient("AKTEST", SECRET, ORIGIN, sleep=pytest.fail)
    with pytest.raises(RemoteitError) as error:
        client.application_types()
    assert str(error.value) == ("the environment names a SOCKS proxy for api.remote.it, which needs the Python library "
                                "PySocks: pip install pysocks")
    assert error.value.kind == "dependency"
    assert not recwarn.list, "the error says it all"
