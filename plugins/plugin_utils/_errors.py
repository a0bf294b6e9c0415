# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The errors of this collection, one class per kind, so callers catch what they can act on.

`kind` is what results and logs show the user; code tells errors apart by their class.
"""

from __future__ import annotations


class RemoteitError(Exception):
    """An error the user can act on. Its message is shown as is, so it never holds a secret.

    `field` is the API field a GraphQL error was about (such as disconnect), when the API said so.
    """

    kind = "api"

    def __init__(self, message, status=None, field=None):
        super().__init__(message)
        self.status = status
        self.field = field

    def as_dict(self):
        return {"kind": self.kind, "status": self.status}


class InvalidInputError(RemoteitError):
    """An option, argument or setting that cannot be used: only changing it helps, not retrying."""

    kind = "invalid_input"


class CredentialsError(RemoteitError):
    """No usable key pair was found or given: the user must fix where it comes from."""

    kind = "credentials"


class AuthError(RemoteitError):
    """remote.it refused the key pair, or what it may see."""

    kind = "auth"


class NotFoundError(RemoteitError):
    """What was asked for (a device, a service, an account) does not exist, or not for this key."""

    kind = "not_found"


class AmbiguousError(RemoteitError):
    """A selection matches several devices or services: the user must choose one."""

    kind = "ambiguous"


class OfflineError(RemoteitError):
    """The device or service is not running, so remote.it cannot connect to it now."""

    kind = "offline"


class ThrottledError(RemoteitError):
    """remote.it throttled requests beyond the retries: later, or with fewer forks, may succeed."""

    kind = "throttled"


class NetworkError(RemoteitError):
    """No answer from remote.it (unreachable, reset, timed out): the request may be retried."""

    kind = "network"


class AmbiguousResultError(NetworkError):
    """A mutation may or may not have been carried out: its answer never arrived."""


class TlsError(RemoteitError):
    """The TLS handshake failed: retrying cannot help, the trust settings or the URL must change."""

    kind = "tls"


class EndpointError(RemoteitError):
    """api_url answers, but is not the GraphQL endpoint (HTTP 404, a redirect)."""

    kind = "endpoint"


class ResponseError(RemoteitError):
    """remote.it answered something malformed, which nothing may use."""

    kind = "response"


class UnusableConnectError(ResponseError):
    """connect answered, but with values that must not be used: the proxy it opened is still open.

    `connection_id` is the answer's id where that at least is an id, so the proxy can be closed by it.
    """

    def __init__(self, message, connection_id):
        super().__init__(message)
        self.connection_id = connection_id


class DependencyError(RemoteitError):
    """A Python library the controller needs is missing: the message says what to install."""

    kind = "dependency"


class ProxyTimeoutError(RemoteitError):
    """A proxy did not accept connections within the time allowed."""

    kind = "timeout"


class ConnectionsFileError(RemoteitError):
    """The connections file cannot be used safely (its owner, mode, a link) or at all."""

    kind = "connections_file"
