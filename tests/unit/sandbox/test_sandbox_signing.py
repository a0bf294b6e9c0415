# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Request signature verification: the README's known answer, then every way a request is refused."""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime, timezone
from email.utils import formatdate

import pytest
import requests
from remoteit_sandbox.signing import AuthError, signature, signing_string, verify
from .sandbox_helpers import FIVE_HEADERS, FOUR_HEADERS, TIMEOUT, Client, signed_headers

LOGIN = {"query": "{ login { id } }"}

# The known-answer vector remote.it's signing recipe gives for a fake key (Python's hmac and openssl agree)
KAT_KEY_ID = "AKTEST"
KAT_SECRET = "c2VjcmV0LWtleS1ieXRlcw=="
KAT_DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
KAT_BODY = b'{"query":"{ login { id } }"}'
KAT_SIGNATURE = "u2bE7hgRZ2w0tbGTqmcE1PiOFqp4q3WctfPsB49loCU="


def test_known_answer_vector():
    headers = signed_headers(KAT_KEY_ID, KAT_SECRET, "https://api.remote.it/graphql/v1", KAT_BODY, date=KAT_DATE)
    assert headers["Authorization"].endswith(f'signature="{KAT_SIGNATURE}"')
    headers = {name.lower(): value for name, value in headers.items()} | {"content-length": str(len(KAT_BODY))}
    text = signing_string(FIVE_HEADERS.split(), "POST", "/graphql/v1", headers)
    assert signature(b"secret-key-bytes", text) == KAT_SIGNATURE
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert verify("POST", "/graphql/v1", headers, len(KAT_BODY), {KAT_KEY_ID: b"secret-key-bytes"}, 300, now=now) == KAT_KEY_ID
    with pytest.raises(AuthError, match="signature does not match"):
        verify("POST", "/graphql/v1", headers, len(KAT_BODY), {KAT_KEY_ID: b"other-key-bytes"}, 300, now=now)


@pytest.mark.parametrize("header_names", [FIVE_HEADERS, FOUR_HEADERS])
def test_both_official_header_lists_are_accepted(client, header_names):
    response = client.post(LOGIN, header_names=header_names)
    assert response.status_code == 200
    assert response.json() == {"data": {"login": {"id": client.sandbox.world.keys[client.key_id].user.id}}}


def test_missing_authorization_is_401(sandbox):
    response = requests.post(sandbox.url, json=LOGIN, timeout=TIMEOUT)
    assert (response.status_code, response.text) == (401, "Unauthorized")


def test_unknown_key_is_401(sandbox):
    response = Client(sandbox, ("AKNOBODY", sandbox.credentials[1])).post(LOGIN)
    assert (response.status_code, response.text) == (401, "Unauthorized")


def test_bad_signature_is_403_without_leaking_the_secret(sandbox):
    key_id, secret = sandbox.credentials
    response = Client(sandbox, (key_id, "d3Jvbmctc2VjcmV0")).post(LOGIN)
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "signature does not match"
    assert secret not in response.text


@pytest.mark.parametrize("offset", [-400, 400])
def test_stale_date_is_403_and_mentions_clock_skew(client, offset):
    response = client.post(LOGIN, date=formatdate(time.time() + offset, usegmt=True))
    assert response.status_code == 403
    assert "clock skew" in response.json()["errors"][0]["message"]


def test_clock_skew_is_configurable(make_sandbox):
    client = Client(make_sandbox(clock_skew=1000))
    assert client.post(LOGIN, date=formatdate(time.time() - 400, usegmt=True)).status_code == 200


def test_date_must_be_an_imf_fixdate(client):
    response = client.post(LOGIN, date="2026-01-01T00:00:00Z")
    assert response.status_code == 403
    assert "IMF-fixdate" in response.json()["errors"][0]["message"]


def test_signature_must_cover_target_host_and_date(client):
    response = client.post(LOGIN, header_names="(request-target) content-type content-length")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "the signature must cover host, date"


def test_content_length_must_match_the_body(sandbox):
    """A body shorter than its signed Content-Length (the client stopped early) is refused."""
    body = json.dumps(LOGIN).encode()
    headers = signed_headers(*sandbox.credentials, sandbox.url, body)
    headers["Content-Length"] = str(len(body) + 10)
    request = "POST /graphql/v1 HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((sandbox.host, sandbox.port), timeout=TIMEOUT) as sock:
        sock.sendall(request.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 403")
    assert b"content-length header does not match the body" in response
