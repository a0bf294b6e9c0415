# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Verification of remote.it's HTTP request signatures (draft-cavage, hmac-sha256).

Strict on purpose: the collection's client must get exactly what the real API checks right,
so every deviation is rejected with the reason, never silently tolerated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timezone

IMF_FIXDATE = "%a, %d %b %Y %H:%M:%S GMT"
REQUIRED_HEADERS = ("(request-target)", "host", "date")
AUTH_PARAM = re.compile(r'\s*(\w+)="([^"]*)"\s*(?:,|$)')


class AuthError(Exception):
    """A rejected request: `status` is 401 (who are you?) or 403 (not proven), `reason` says why."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signing_string(header_names, method, target, headers):
    """The lines that get signed, for the declared `header_names` in their order."""
    lines = []
    for name in header_names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
            continue
        value = headers.get(name)
        if value is None:
            raise AuthError(403, f"signed header {name!r} is missing from the request")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def signature(secret, text):
    """base64(HMAC-SHA256(secret bytes, text))."""
    return base64.b64encode(hmac.new(secret, text.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def parse_authorization(value):
    """The parameters of a `Signature k="v",...` Authorization header."""
    scheme, rest = value.strip().partition(" ")[::2]
    if scheme.lower() != "signature":
        raise AuthError(403, "malformed Authorization header: the scheme must be Signature")
    params = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = AUTH_PARAM.match(rest, position)
        if match is None:
            raise AuthError(403, "malformed Authorization header: expected key=\"value\" pairs")
        params[match.group(1)] = match.group(2)
        position = match.end()
    return params


def verify(method, target, headers, body_length, secrets, clock_skew, now=None):
    """Check a request's signature; returns the key id or raises AuthError.

    `headers` must look names up case-insensitively (http.client.HTTPMessage does);
    `secrets` maps key ids to raw secret bytes.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise AuthError(401, "missing Authorization header")
    params = parse_authorization(authorization)
    key_id = params.get("keyId")
    if not key_id:
        raise AuthError(403, "malformed Authorization header: no keyId")
    if key_id not in secrets:
        raise AuthError(401, "unknown keyId")
    if params.get("algorithm", "hmac-sha256").lower() != "hmac-sha256":
        raise AuthError(403, "unsupported signature algorithm (hmac-sha256 expected)")
    if "signature" not in params or "headers" not in params:
        raise AuthError(403, "malformed Authorization header: headers and signature are required")
    header_names = params["headers"].lower().split()
    missing = [name for name in REQUIRED_HEADERS if name not in header_names]
    if missing:
        raise AuthError(403, f"the signature must cover {', '.join(missing)}")
    if "content-length" in header_names and headers.get("content-length") != str(body_length):
        raise AuthError(403, f"content-length header does not match the body ({body_length} bytes received)")
    _check_date(headers.get("date"), clock_skew, now or datetime.now(timezone.utc))
    expected = signature(secrets[key_id], signing_string(header_names, method, target, headers))
    if not hmac.compare_digest(expected.encode("ascii"), params["signature"].encode("ascii", "replace")):
        raise AuthError(403, "signature does not match")
    return key_id


def _check_date(value, clock_skew, now):
    try:
        sent = datetime.strptime(value or "", IMF_FIXDATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthError(403, "Date header is missing or not an IMF-fixdate (e.g. 'Thu, 01 Jan 2026 00:00:00 GMT')") from None
    skew = abs((now - sent).total_seconds())
    if skew > clock_skew:
        raise AuthError(403, f"Date header is {skew:.0f} s away from the server clock (allowed clock skew: {clock_skew} s)")
