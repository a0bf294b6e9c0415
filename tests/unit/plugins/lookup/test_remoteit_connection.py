# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import sys

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import to_result

from ..plugin_utils.fakes import FakeClient, device

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates any string
    def trust_as_template(value):
        return value

SERVICE_ID = "80:00:00:00:01:00:01:01"


@pytest.fixture
def lookup(monkeypatch, tmp_path):
    """run(*terms, **keywords): the lookup with no key in the environment and an empty connections file."""
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    loader = DataLoader()
    play_vars = {"vault_secret": "YWJj"}
    plugin = lookup_loader.get("community.remoteit.remoteit_connection", loader=loader,
                               templar=Templar(loader, variables=play_vars))

    def run(*terms, variables=None, **keywords):
        keywords.setdefault("connections_file", str(tmp_path / "connections.json"))
        return plugin.run(list(terms), variables=dict(play_vars, **(variables or {})), **keywords)

    run.plugin = plugin
    return run


def test_missing_credentials_name_the_places_the_lookup_reads(lookup, tmp_path):
    missing = str(tmp_path / "no-credentials")
    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-kitchen/ssh", credentials_file=missing)
    assert (
        "community.remoteit.remoteit_connection lookup: no remote.it access_key_id and secret_access_key found. "
        "Looked in: the lookup's keywords (access_key_id, secret_access_key), the variables (remoteit_access_key_id, "
        "remoteit_secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY), the [remoteit] "
        "section of ansible.cfg (access_key_id, secret_access_key) and the credentials file %s (no such file)."
        % missing) in str(error.value)
    assert "task options" not in str(error.value)


def test_a_credentials_file_other_users_can_read_is_a_warning(lookup, tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text("[default]\nR3_ACCESS_KEY_ID=AK\nR3_SECRET_ACCESS_KEY=YWJj\n")
    os.chmod(path, 0o644)
    warnings = []
    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__].display, "warning", warnings.append)
    assert lookup(SERVICE_ID, credentials_file=str(path), on_missing="skip") == []
    assert warnings == ["the remote.it credentials file %s is readable by other users (mode 0644): chmod 600 %s"
                        % (path, path)]


def test_variables_are_templated_like_any_other(lookup, monkeypatch):
    used = []

    def build_client(options, *_sources):
        used.append(options["secret_access_key"])
        return FakeClient()

    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__], "build_client", build_client)
    variables = {"remoteit_access_key_id": "AK", "remoteit_secret_access_key": trust_as_template("{{ vault_secret }}")}
    assert lookup(SERVICE_ID, variables=variables, on_missing="skip") == []
    assert used == ["YWJj"]


@pytest.fixture
def api(lookup, monkeypatch, tmp_path):
    """The FakeClient the lookup talks to (pi-kitchen: ssh and web; pi-garage: ssh); api.open(device, service)
    opens a proxy as the remoteit_connection module would, recording it in the lookup's connections file."""
    client = FakeClient([
        device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02"))),
        device("pi-garage", "80:00:00:00:02:00:00:00"),
    ])
    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__], "build_client", lambda *_args: client)
    manager = ProxyManager(client, ConnectionStore(str(tmp_path / "connections.json")))
    client.open = lambda device_name, service: to_result(
        manager.ensure({"device": device_name, "service": service}, "255.255.255.255", 300)[0], reused=True)
    return client


def test_a_miss_is_cached_like_a_hit_within_the_process(lookup, api):
    api.open("pi-kitchen", "ssh")  # another service's record: the file exists
    assert lookup("pi-garage/ssh", on_missing="skip") == []
    asked = list(api.calls)
    assert asked  # the first evaluation asked remote.it which service pi-garage/ssh is
    assert lookup("pi-garage/ssh", on_missing="skip") == []
    assert api.calls == asked


def test_a_changed_connections_file_is_read_again(lookup, api, tmp_path):
    api.open("pi-kitchen", "ssh")
    assert lookup("pi-garage/ssh", on_missing="skip") == []
    path = tmp_path / "connections.json"
    before = path.stat().st_mtime_ns
    opened = api.open("pi-garage", "ssh")  # a later task opened it
    # A write within the file system's timestamp granularity keeps the mtime: make the change visible.
    os.utime(path, ns=(before + 10 ** 9, before + 10 ** 9))
    assert lookup("pi-garage/ssh", on_missing="skip") == [opened]


def test_a_device_alone_with_several_services_fails_listing_them(lookup, api):
    api.open("pi-kitchen", "ssh")  # even when one of them has a recorded connection
    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-kitchen")
    assert "device 'pi-kitchen' has 2 services (ssh, web)" in str(error.value)


def test_a_device_alone_with_one_service_is_found(lookup, api):
    opened = api.open("pi-garage", "ssh")
    assert lookup("PI-GARAGE") == [opened]


def missing_message(tmp_path, term):
    return ("no live remote.it connection is recorded for %r in %s; open one first with the "
            "community.remoteit.remoteit_connection module (state: present)" % (term, tmp_path / "connections.json"))


def test_on_missing_error_fails_naming_the_module_that_opens_one(lookup, api, tmp_path):
    api.open("pi-kitchen", "ssh")
    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-kitchen/ssh", "pi-garage/ssh")  # on_missing defaults to error
    assert str(error.value) == missing_message(tmp_path, "pi-garage/ssh")


def test_a_device_remoteit_reports_offline_is_named_offline_rather_than_told_to_open_a_connection(
        lookup, monkeypatch, tmp_path):
    client = FakeClient([device("pi-garage", "80:00:00:00:02:00:00:00", state="inactive")])
    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__], "build_client", lambda *_args: client)

    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-garage/ssh")

    assert str(error.value) == ("device 'pi-garage' is offline (state 'inactive'): remote.it can only connect to active "
                                "devices; no live remote.it connection to it is recorded in %s"
                                % (tmp_path / "connections.json"))


@pytest.mark.parametrize("on_missing, warns", [("warn", True), ("skip", False)])
def test_on_missing_warn_and_skip_return_the_terms_that_have_one(
        lookup, api, monkeypatch, tmp_path, on_missing, warns):
    opened = api.open("pi-kitchen", "ssh")
    warnings = []
    monkeypatch.setattr(sys.modules[type(lookup.plugin).__module__].display, "warning", warnings.append)
    assert lookup("pi-kitchen/ssh", "pi-garage/ssh", on_missing=on_missing) == [opened]
    assert warnings == ([missing_message(tmp_path, "pi-garage/ssh")] if warns else [])


def earlier_jobs_record(api, device_name="pi-garage", service_id="80:00:00:00:02:00:00:01"):
    """A connection another machine's job opened and published; remote.it lists it."""
    connection_id = api.add_session(service_id, age=120)
    return {"id": connection_id, "session_id": connection_id, "api_url": api.api_url, "service_id": service_id,
            "service_name": "ssh", "device_id": "80:00:00:00:02:00:00:00", "device_name": device_name,
            "host": "proxy.example", "port": 34000, "url": "tcp://proxy.example:34000", "reverse_proxy": False,
            "host_ip": "255.255.255.255", "created": "2026-01-01T00:00:00Z", "expires_at": None, "timeout": None,
            "reused": False}


@pytest.mark.parametrize("variable", ["remoteit_connections", "remoteit_connection"])
def test_a_record_handed_over_in_the_variables_is_returned_once_remoteit_lists_it(lookup, api, variable):
    record = earlier_jobs_record(api)
    variables = {variable: [record] if variable == "remoteit_connections" else record}
    assert lookup("pi-garage/ssh", variables=variables) == [dict(record, reused=True,
                                                                 host_key_alias="remoteit-80-00-00-00-02-00-00-01")]
    assert api.count("sessions") == 1 and api.count("connect") == 0


def test_a_lookup_never_writes_the_connections_file(lookup, api, tmp_path):
    """A lookup reads: neither remote.it's confirmation nor a handed-over record it returned is written down."""
    api.open("pi-kitchen", "ssh")
    path = tmp_path / "connections.json"
    with ConnectionStore(str(path)).update() as records:
        records[0]["created"] = "2026-01-01T00:00:00Z"  # long enough ago to be asked about
    before = path.read_text()
    assert len(lookup("pi-kitchen/ssh", "pi-garage/ssh", variables={"remoteit_connections": [earlier_jobs_record(api)]})) == 2
    assert path.read_text() == before


def test_a_handed_record_remoteit_no_longer_lists_is_missing_and_says_where_it_looked(lookup, api):
    record = earlier_jobs_record(api)
    api.disconnect(record["id"])
    with pytest.raises(AnsibleLookupError) as error:
        lookup("pi-garage/ssh", variables={"remoteit_connections": [record]})
    assert "or in the records handed over" in str(error.value)
    assert "community.remoteit.remoteit_connection module (state: present)" in str(error.value)


def test_a_host_variable_of_the_records_name_may_be_this_very_lookup(lookup, api, tmp_path):
    """remoteit_connection: "{{ lookup(...) }}" is a natural host variable; reading it must not recurse."""
    path = str(tmp_path / "connections.json")
    opened = api.open("pi-garage", "ssh")
    loader = DataLoader()
    variables = {"remoteit_connection": trust_as_template(
        "{{ lookup('community.remoteit.remoteit_connection', 'pi-garage/ssh', connections_file='%s') }}" % path)}
    plugin = lookup_loader.get("community.remoteit.remoteit_connection", loader=loader,
                               templar=Templar(loader, variables=variables))
    assert plugin.run(["pi-garage/ssh"], variables=variables, connections_file=path) == [opened]


def test_a_host_variable_of_the_records_name_that_holds_something_else_is_ignored(lookup, api):
    opened = api.open("pi-garage", "ssh")
    registered = {"changed": False, "connection": opened}  # register: remoteit_connection
    assert lookup("pi-garage/ssh", variables={"remoteit_connection": registered}) == [opened]
