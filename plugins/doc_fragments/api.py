# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The connection and auth options of every module; see plugin_utils/_options.py.
    DOCUMENTATION = r"""
options:
  access_key_id:
    description:
      - The remote.it access key id (R3_ACCESS_KEY_ID) that signs API requests.
      - If not set, the environment variable E(R3_ACCESS_KEY_ID) is used, then O(profile) in O(credentials_file).
    type: str
  secret_access_key:
    description:
      - The base64 secret of the access key. It is never logged, returned, or written to O(connections_file).
      - If not set, the environment variable E(R3_SECRET_ACCESS_KEY) is used, then O(profile) in O(credentials_file).
    type: str
  profile:
    description:
      - The section of O(credentials_file) to read the access key from, matched case-insensitively.
      - A credentials file without any section header is the V(default) profile.
      - If not set, the environment variable E(REMOTEIT_PROFILE) is used.
    type: str
    default: default
  credentials_file:
    description:
      - The remote.it credentials file, an INI file with C(R3_ACCESS_KEY_ID) and C(R3_SECRET_ACCESS_KEY) per profile.
        Values may be quoted (C(R3_SECRET_ACCESS_KEY="...")), as the remote.it CLI accepts.
      - A file that other users can read earns a warning; C(chmod 600) it.
      - If not set, the environment variable E(REMOTEIT_CREDENTIALS_FILE) is used.
    type: path
    default: ~/.remoteit/credentials
  api_url:
    description:
      - The remote.it GraphQL endpoint. Point it at the bundled sandbox to test playbooks without an account.
      - The full URL, C(http://) or C(https://) and the path C(/graphql/v1); a trailing C(/) is ignored.
      - Requests go through the proxy that E(HTTPS_PROXY) (E(HTTP_PROXY) for C(http://), E(ALL_PROXY)) names, unless
        E(NO_PROXY) lists the host, by the rules of the Python library C(requests).
      - If not set, the environment variable E(REMOTEIT_API_URL) is used.
    type: str
    default: https://api.remote.it/graphql/v1
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Set E(REQUESTS_CA_BUNDLE) to trust a private CA instead of disabling it.
      - Only a certificate that fails verification is helped by this; a server that does not speak TLS needs an
        C(http://) O(api_url).
      - If not set, the environment variable E(REMOTEIT_VALIDATE_CERTS) is used.
    type: bool
    default: true
  request_timeout:
    description:
      - Seconds to wait for each HTTP request to the API.
    type: int
    default: 30
  retries:
    description:
      - How many times to retry a request that was throttled (HTTP 429), met a gateway error (502, 503, 504),
        or failed on the network, with exponential backoff and jitter, honouring C(Retry-After).
      - A connect request is only retried when remote.it cannot have opened a proxy, or after the proxy the lost
        request may have opened was found and closed.
    type: int
    default: 3
  account_id:
    description:
      - The organisation account whose devices to use, for access keys that belong to several accounts.
      - If not set, the environment variable E(REMOTEIT_ACCOUNT_ID) is used.
    type: str
  connections_file:
    description:
      - The controller's record of the connections this collection opened, with their host and port,
        which the remote.it API cannot report after the fact.
      - A journal of JSON lines, a line per change, in which the latest line for a connection id wins; compacted
        automatically. Changed under a file lock, with mode C(0600); a file that cannot be parsed stops the task.
      - Its records say where to connect, so the file and its directory must be the user's and writable by nobody
        else, as OpenSSH requires of C(~/.ssh); a file another user owns or could write (in C(/tmp), for example),
        a symbolic link, or a malformed record stops the task instead of being used.
      - Beside it are the locks that keep runs from writing it at once, C(<file>.lock) for the file itself and the
        directory C(<file>.locks/), whose few lock files make runs that open or close the same service wait for each
        other. Leave them; removed while no run is going on, they are made again.
      - If not set, the environment variable E(REMOTEIT_CONNECTIONS_FILE) is used.
    type: path
    default: ~/.remoteit/ansible-connections.json
requirements:
  - requests (Python library, on the controller; the collection talks HTTP through the urllib3 it installs)
"""

    # For the lookup and the connection plugin: records an earlier job handed over as data. The action plugins read
    # the same variables (plugin_utils/_records.py HANDED_LIST_VAR, HANDED_HOST_VAR) and document them in notes.
    RECORDS = r"""
options:
  remoteit_connections:
    description:
      - Connection records that an earlier job handed over, each as the
        RV(community.remoteit.remoteit_connection#module:connection) result of
        M(community.remoteit.remoteit_connection), for jobs that do not share the connections file. An AWX/AAP
        workflow passes them on from a C(set_stats) artifact (see
        O(community.remoteit.remoteit_connection#module:publish)), a CI job from a file with C(-e @file.json).
      - They are used as if they were in O(connections_file), and written into it once remote.it confirms them.
        One that remote.it no longer lists is never used; one remote.it does not list yet (a proxy nobody has used)
        is used only where this machine is about to connect to it anyway and its port answers.
    type: list
    elements: dict
    vars:
      - name: remoteit_connections
  remoteit_connection:
    description:
      - The host's connection record, handed over like O(remoteit_connections), for example a fact cached with
        C(ansible.builtin.set_fact) and C(cacheable=true) that AWX fact storage or a fact cache carries to later
        jobs.
      - A value that is not a connection record, such as a registered task result of that name, is ignored.
    type: raw
    vars:
      - name: remoteit_connection
"""

    TARGET = r"""
options:
  service_id:
    description:
      - The remote.it id of the service, 8 hex octets separated by colons such as V(80:00:00:00:01:02:03:04).
      - Mutually exclusive with O(device) and O(service).
    type: str
  device:
    description:
      - The device, by name (matched exactly, case-insensitively) or by device id.
      - The device alone, unlike the lookup's V(DEVICE/SERVICE) terms; the service goes in O(service).
      - A name that matches no device, or several, is an error that lists the candidates.
    type: str
  service:
    description:
      - The name of the service on O(device), matched exactly and case-insensitively.
      - May be omitted when the device has exactly one service. remote.it is asked then, even when a connection
        to one of the device's services is recorded; a device with several services is an error that lists them.
    type: str
"""

    ATTRIBUTES = r"""
notes:
  - The task runs on the Ansible controller, never on the managed device, so it works in a play over devices
    that are only reachable through remote.it, without C(delegate_to).
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: all
  action_group:
    description: Use C(group/community.remoteit.remoteit) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - community.remoteit.remoteit
"""

    # For lookups and inventories: the same options from the environment and ansible.cfg.
    PLUGINS = r"""
options:
  access_key_id:
    env:
      - name: R3_ACCESS_KEY_ID
    ini:
      - section: remoteit
        key: access_key_id
  secret_access_key:
    env:
      - name: R3_SECRET_ACCESS_KEY
    ini:
      - section: remoteit
        key: secret_access_key
  profile:
    env:
      - name: REMOTEIT_PROFILE
    ini:
      - section: remoteit
        key: profile
  credentials_file:
    env:
      - name: REMOTEIT_CREDENTIALS_FILE
    ini:
      - section: remoteit
        key: credentials_file
  api_url:
    env:
      - name: REMOTEIT_API_URL
    ini:
      - section: remoteit
        key: api_url
  validate_certs:
    env:
      - name: REMOTEIT_VALIDATE_CERTS
    ini:
      - section: remoteit
        key: validate_certs
  request_timeout:
    ini:
      - section: remoteit
        key: request_timeout
  retries:
    ini:
      - section: remoteit
        key: retries
  account_id:
    env:
      - name: REMOTEIT_ACCOUNT_ID
    ini:
      - section: remoteit
        key: account_id
  connections_file:
    env:
      - name: REMOTEIT_CONNECTIONS_FILE
    ini:
      - section: remoteit
        key: connections_file
"""

    # For lookups, which also read the options from host and play variables.
    VARS = r"""
options:
  access_key_id:
    vars:
      - name: remoteit_access_key_id
  secret_access_key:
    vars:
      - name: remoteit_secret_access_key
  profile:
    vars:
      - name: remoteit_profile
  credentials_file:
    vars:
      - name: remoteit_credentials_file
  api_url:
    vars:
      - name: remoteit_api_url
  validate_certs:
    vars:
      - name: remoteit_validate_certs
  request_timeout:
    vars:
      - name: remoteit_request_timeout
  retries:
    vars:
      - name: remoteit_retries
  account_id:
    vars:
      - name: remoteit_account_id
  connections_file:
    vars:
      - name: remoteit_connections_file
"""
