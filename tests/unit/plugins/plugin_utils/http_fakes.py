# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""remote.it's API over HTTP as the client's tests meet it: answers queued in a fake urllib3 pool."""

from __future__ import annotations

import json

import urllib3

from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitClient

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

    def request(self, method, url, body, headers, retries, redirect, timeout):
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


def device(index):
    """Device number `index` as remote.it lists it, with one SSH service."""
    return {"id": "80:00:00:00:00:00:00:%02X" % index, "name": "dev-%d" % index, "state": "active", "online": True,
            "services": [{"id": "80:00:00:00:00:00:01:%02X" % index, "name": "ssh", "application": 28,
                          "title": "SSH", "port": 22, "host": "localhost", "state": "active", "enabled": True}]}
