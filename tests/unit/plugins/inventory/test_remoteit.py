# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import itertools
import json
import os
import signal
import sys
import threading
import time

import pytest
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, inventory_loader

from ansible_collections.community.remoteit.extensions.eda.plugins.event_source.device_events import DeviceWatcher
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager

from ..plugin_utils.fakes import FakeClient, device

FLEET = [
    device("pi-kitchen", "80:00:00:00:01:00:00:00"),
    device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
]


@pytest.fixture
def build_inventory(tmp_path, monkeypatch):
    """build(client=None, **options) -> InventoryData from a devices.remoteit.yml with these options."""
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    plugin = inventory_loader.get("community.remoteit.remoteit")

    def build(client=None, **options):
        if client is not None:
            monkeypatch.setattr(sys.modules[type(plugin).__module__], "build_client",
                                lambda *_args: client)
        path = tmp_path / "devices.remoteit.yml"
        path.write_text(json.dumps(dict(options, plugin="community.remoteit.remoteit")))
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=False)
        return inventory

    return build


def test_inactive_devices_are_hosts_in_their_own_group_by_default(build_inventory):
    inventory = build_inventory(FakeClient(FLEET))
    assert sorted(inventory.hosts) == ["gateway-01", "pi-kitchen"]
    assert [host.name for host in inventory.groups["remoteit_active"].get_hosts()] == ["pi-kitchen"]
    assert [host.name for host in inventory.groups["remoteit_inactive"].get_hosts()] == ["gateway-01"]


def test_include_inactive_false_leaves_inactive_devices_out(build_inventory):
    inventory = build_inventory(FakeClient(FLEET), include_inactive=False)
    assert sorted(inventory.hosts) == ["pi-kitchen"]
    assert "remoteit_inactive" not in inventory.groups


def test_missing_credentials_name_the_places_the_inventory_reads(build_inventory, tmp_path):
    missing = str(tmp_path / "no-credentials")
    with pytest.raises(AnsibleParserError) as error:
        build_inventory(credentials_file=missing)
    path = tmp_path / "devices.remoteit.yml"
    assert (
        "no remote.it access_key_id and secret_access_key found. Looked in: the inventory file %s (access_key_id, "
        "secret_access_key), the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY), the [remoteit] section of "
        "ansible.cfg (access_key_id, secret_access_key) and the credentials file %s (no such file)."
        % (path, missing)) in str(error.value)


def fleet_with_services():
    """pi-kitchen: ssh and web; pi-garage: ssh; gateway-01 (inactive): ssh; kiosk-lobby: web only."""
    return FakeClient([
        device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02"))),
        device("pi-garage", "80:00:00:00:02:00:00:00"),
        device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
        device("kiosk-lobby", "80:00:00:00:04:00:00:00", services=(("web", "01"),)),
    ])


@pytest.mark.parametrize("mode", [{}, {"connect_mode": "eager"}], ids=["default", "eager"])
def test_a_connect_service_no_device_has_is_a_warning_naming_those_that_exist(
        build_inventory, monkeypatch, tmp_path, mode):
    warnings = []
    monkeypatch.setattr(inventory_module().display, "warning", warnings.append)
    client = fleet_with_services()
    inventory = build_inventory(client, connect_service="vnc", connections_file=str(tmp_path / "connections.json"),
                                **mode)
    assert warnings == ["remote.it inventory: connect_service 'vnc': no device has a service of that name; the "
                        "service names that exist: ssh, web"]
    assert sorted(inventory.hosts) == ["gateway-01", "kiosk-lobby", "pi-garage", "pi-kitchen"]
    assert client.count("connect") == 0


# -- connect_mode -----------------------------------------------------------------------------------------------------

def inventory_module():
    return sys.modules[type(inventory_loader.get("community.remoteit.remoteit")).__module__]


def ssh_fleet(size):
    return [device("pi-%02d" % index, "80:00:00:00:05:00:%02X:00" % index) for index in range(size)]


def test_on_demand_is_the_default_and_gives_hosts_the_connection_plugin_without_opening_anything(
        build_inventory, tmp_path):
    client = fleet_with_services()
    connections_file = tmp_path / "connections.json"
    inventory = build_inventory(client, connect_service="SSH")
    for host, device_id in (("pi-kitchen", "80:00:00:00:01:00:00:00"), ("pi-garage", "80:00:00:00:02:00:00:00")):
        hostvars = inventory.get_host(host).vars
        assert hostvars["ansible_connection"] == "community.remoteit.ssh"
        assert hostvars["remoteit_service"] == "ssh"  # as the device names it
        assert hostvars["remoteit_device"] == device_id  # devices whose names differ only in case stay apart
        assert hostvars["remoteit_inventory_selection"] == {"device": device_id, "service": "ssh",
                                                            "service_id": device_id[:-2] + "01"}
        assert "remoteit_service_id" not in hostvars  # a remoteit_service of the user's own still selects
        assert "ansible_host" not in hostvars and "remoteit_connection" not in hostvars
    # inactive: the plugin looks the device up, and says it is offline when a play uses it
    gateway = inventory.get_host("gateway-01").vars
    assert gateway["ansible_connection"] == "community.remoteit.ssh"
    assert gateway["remoteit_device"] == "80:00:00:00:03:00:00:00" and "remoteit_inventory_selection" not in gateway
    assert not {"ansible_connection", "remoteit_service", "remoteit_device"} & set(inventory.get_host("kiosk-lobby").vars)
    assert [call for call in client.calls if call[0] != "devices"] == []  # no connect, no sessions query
    assert not connections_file.exists()


def test_on_demand_loads_the_connection_plugin_in_the_controller_once_for_every_worker_to_inherit(
        build_inventory, monkeypatch):
    """Ansible forks a worker per task and host, after the inventory is built: what the controller loaded, none of
    them loads again (bench/README.md: the fleet rows)."""
    from ansible_collections.community.remoteit.plugins.inventory import remoteit  # pylint: disable=import-outside-toplevel
    loaded = []
    monkeypatch.setattr(remoteit.connection_loader, "get", lambda name, *args, **kwargs: loaded.append((name, kwargs)))
    build_inventory(fleet_with_services(), connect_service="ssh")
    assert loaded == [("community.remoteit.ssh", {"class_only": True})]
    loaded.clear()
    build_inventory(fleet_with_services())  # no host uses the plugin
    build_inventory(fleet_with_services(), connect_service="vnc")
    assert loaded == []


def test_on_demand_hands_the_hosts_what_the_inventory_file_sets_but_never_the_access_key(build_inventory, tmp_path):
    client = fleet_with_services()
    connections_file = str(tmp_path / "records.json")
    inventory = build_inventory(client, connect_service="ssh", connect_mode="on_demand", access_key_id="AKEXAMPLE",
                                secret_access_key="c2VjcmV0", api_url="https://api.example/graphql/v1/",
                                account_id="acct-1", connections_file=connections_file, request_timeout=60,
                                connect_host_ip=" 203.0.113.7 ", connect_renew_before=3600)
    hostvars = inventory.get_host("pi-garage").vars
    assert {name: value for name, value in hostvars.items() if name.startswith("remoteit_")
            and name not in ("remoteit_device_id", "remoteit_device_name", "remoteit_state", "remoteit_online",
                             "remoteit_services", "remoteit_tags")} == {
        "remoteit_device": "80:00:00:00:02:00:00:00", "remoteit_service": "ssh",
        "remoteit_inventory_selection": {"device": "80:00:00:00:02:00:00:00", "service": "ssh",
                                         "service_id": "80:00:00:00:02:00:00:01"}, "remoteit_api_url": client.api_url, "remoteit_account_id": "acct-1",
        "remoteit_connections_file": connections_file, "remoteit_request_timeout": 60,
        "remoteit_host_ip": "203.0.113.7", "remoteit_renew_before": 3600}
    assert "AKEXAMPLE" not in json.dumps(hostvars) and "c2VjcmV0" not in json.dumps(hostvars)
    assert "remoteit_host_ip" not in inventory.get_host("kiosk-lobby").vars
    assert client.count("connect") == 0


def test_on_demand_leaves_the_connection_plugin_its_own_defaults_when_the_file_sets_none(build_inventory):
    inventory = build_inventory(fleet_with_services(), connect_service="ssh")
    assert not {"remoteit_host_ip", "remoteit_renew_before", "remoteit_api_url", "remoteit_connections_file"} & set(
        inventory.get_host("pi-garage").vars)


def test_on_demand_rejects_an_invalid_connect_host_ip_while_building(build_inventory):
    with pytest.raises(AnsibleParserError, match="host_ip 'somewhere' is not valid"):
        build_inventory(fleet_with_services(), connect_service="ssh", connect_host_ip="somewhere")


def test_on_demand_warns_that_ssh_cannot_use_an_http_service(build_inventory, monkeypatch):
    warnings = []
    monkeypatch.setattr(inventory_module().display, "warning", warnings.append)
    web = FakeClient([device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("web", "02"),))])
    web.devices[0]["services"][0]["application"] = 7
    inventory = build_inventory(web, connect_service="web")
    assert len(warnings) == 1 and "connect_mode: eager" in warnings[0] and "remoteit_connection.url" in warnings[0]
    assert web.count("connect") == 0
    hostvars = inventory.get_host("pi-kitchen").vars
    assert hostvars["remoteit_service"] == "web"
    assert "remoteit_inventory_selection" not in hostvars, "the plugin looks the device up, which names it when it refuses"


def test_on_demand_hosts_open_their_proxy_with_one_request(build_inventory, tmp_path):
    client = fleet_with_services()
    hostvars = build_inventory(client, connect_service="ssh").get_host("pi-garage").vars
    plugin = connection_loader.get("community.remoteit.ssh", PlayContext(), None)
    plugin.set_options(var_options=dict(hostvars, inventory_hostname="pi-garage"))
    plugin._manager = ProxyManager(client, ConnectionStore(str(tmp_path / "connections.json")))
    client.calls.clear()
    record = plugin._ensure_proxy(replace=None)
    assert [call[:2] for call in client.calls] == [("connect", "80:00:00:00:02:00:00:01")], "no device lookup first"
    assert record["service_id"] == "80:00:00:00:02:00:00:01"


def test_eager_opens_proxies_and_reuses_them_next_time_asking_remoteit_once(build_inventory, tmp_path):
    client = fleet_with_services()
    connections_file = str(tmp_path / "connections.json")
    first = build_inventory(client, connect_service="SSH", connect_mode="eager", connections_file=connections_file)
    assert sorted(call[1] for call in client.calls if call[0] == "connect") == [
        "80:00:00:00:01:00:00:01", "80:00:00:00:02:00:00:01"]
    kitchen = first.get_host("pi-kitchen").vars
    assert (kitchen["ansible_host"], kitchen["ansible_port"]) == ("proxy.example", 33000)
    assert kitchen["remoteit_connection"]["reused"] is False
    assert "ansible_connection" not in kitchen and "remoteit_service" not in kitchen
    for unreachable in ("gateway-01", "kiosk-lobby"):
        assert "ansible_host" not in first.get_host(unreachable).vars

    age_records(tmp_path / "connections.json", 3600)  # past the time a new record is trusted without asking
    client.calls.clear()
    second = build_inventory(client, connect_service="ssh", connect_mode="eager", connections_file=connections_file)
    assert [call[0] for call in client.calls] == ["devices", "sessions"]
    for host in ("pi-kitchen", "pi-garage"):
        reused, opened = (inventory.get_host(host).vars["remoteit_connection"] for inventory in (second, first))
        assert (reused["id"], reused["port"], reused["reused"]) == (opened["id"], opened["port"], True)


def age_records(path, seconds):
    """Make the connections file's records `seconds` old, never confirmed."""
    created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    with ConnectionStore(str(path)).update() as records:
        for record in records:
            record.update(created=created.strftime("%Y-%m-%dT%H:%M:%SZ"), confirmed_at=None, expires_at=None)


class ConcurrencyProbe:
    """Clients that count the connects in flight at once, each holding on until `expected` are, and note which
    threads use each client."""

    def __init__(self, devices, expected):
        self.devices = devices
        self.expected = expected
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.all_in = threading.Event()
        self.clients = []

    def build_client(self, *_args):
        probe = self

        class Client(FakeClient):
            def __init__(self):
                super().__init__(probe.devices)
                self.threads = set()
                # Connection ids unique across the clients, as remote.it's are: the connections file keeps a record per id.
                self._ids = itertools.count(100 * len(probe.clients) + 1)

            def connect(self, service_id, host_ip, after_lost_answer=None):
                self.threads.add(threading.get_ident())
                with probe.lock:
                    probe.in_flight += 1
                    probe.peak = max(probe.peak, probe.in_flight)
                    if probe.in_flight >= probe.expected:
                        probe.all_in.set()
                probe.all_in.wait(10)
                time.sleep(0.01)
                with probe.lock:
                    probe.in_flight -= 1
                return super().connect(service_id, host_ip, after_lost_answer)

        client = Client()
        self.clients.append(client)
        return client


def test_eager_opens_connect_workers_proxies_at_once_each_thread_with_a_client_of_its_own(
        build_inventory, monkeypatch, tmp_path):
    fleet = ssh_fleet(9)
    probe = ConcurrencyProbe(fleet, expected=3)
    monkeypatch.setattr(inventory_module(), "build_client", probe.build_client)
    connections_file = tmp_path / "connections.json"
    inventory = build_inventory(connect_service="ssh", connect_mode="eager", connect_workers=3,
                                connections_file=str(connections_file))
    assert probe.all_in.is_set() and probe.peak == 3
    main, *workers = probe.clients
    assert main.count("connect") == 0 and len(workers) == 3
    assert sum(client.count("connect") for client in workers) == 9
    assert all(len(client.threads) == 1 for client in workers)
    assert len({ident for client in workers for ident in client.threads}) == 3
    records = ConnectionStore(str(connections_file)).records()
    assert sorted(record["service_id"] for record in records) == sorted(item["services"][0]["id"] for item in fleet)
    assert all("ansible_port" in inventory.get_host(item["name"]).vars for item in fleet)


def test_eager_with_one_worker_opens_one_proxy_at_a_time(build_inventory, monkeypatch, tmp_path):
    probe = ConcurrencyProbe(ssh_fleet(4), expected=1)
    monkeypatch.setattr(inventory_module(), "build_client", probe.build_client)
    build_inventory(connect_service="ssh", connect_mode="eager", connect_workers=1,
                    connections_file=str(tmp_path / "connections.json"))
    assert probe.peak == 1 and len(probe.clients) == 2


class Refusing(FakeClient):
    """A client whose connect to some services is refused."""

    def __init__(self, devices, refused):
        super().__init__(devices)
        self.refused = refused

    def connect(self, service_id, host_ip, after_lost_answer=None):
        if service_id in self.refused:
            self.calls.append(("connect", service_id, host_ip))
            raise RemoteitError("remote.it refused: quota exceeded")
        return super().connect(service_id, host_ip, after_lost_answer)


def test_eager_keeps_every_device_it_could_reach_and_leaves_out_the_others_with_a_warning(
        build_inventory, monkeypatch, tmp_path):
    fleet = ssh_fleet(6)
    failing = fleet[1]["services"][0]["id"].upper()
    warnings = []
    monkeypatch.setattr(inventory_module().display, "warning", warnings.append)
    client = Refusing(fleet, {failing})
    connections_file = tmp_path / "connections.json"
    inventory = build_inventory(client, connect_service="ssh", connect_mode="eager", connect_workers=2,
                                connections_file=str(connections_file))
    # pi-01 is no host: without its proxy it would be reached at its name, which its registrant chose
    assert sorted(inventory.hosts) == ["pi-00", "pi-02", "pi-03", "pi-04", "pi-05"]
    assert all("ansible_host" in host.vars for host in inventory.hosts.values())
    assert warnings == ["remote.it inventory: device 'pi-01' [80:00:00:00:05:00:01:00]: remote.it refused: quota "
                        "exceeded; the device is left out of this inventory"]
    records = ConnectionStore(str(connections_file)).records()
    assert len(records) == 5 and failing not in {record["service_id"] for record in records}


def test_eager_leaves_out_a_device_whose_service_is_not_running(build_inventory, monkeypatch, tmp_path):
    fleet = ssh_fleet(2)
    fleet[1]["services"][0]["state"] = "inactive"
    warnings = []
    monkeypatch.setattr(inventory_module().display, "warning", warnings.append)
    inventory = build_inventory(FakeClient(fleet), connect_service="ssh", connect_mode="eager",
                                connections_file=str(tmp_path / "connections.json"))
    assert sorted(inventory.hosts) == ["pi-00"]
    assert len(warnings) == 1 and "is not running" in warnings[0] and "left out of this inventory" in warnings[0]


def test_eager_fails_naming_the_device_when_no_proxy_can_be_opened(build_inventory, tmp_path):
    fleet = ssh_fleet(3)
    client = Refusing(fleet, {device["services"][0]["id"].upper() for device in fleet})
    with pytest.raises(AnsibleParserError, match=r"device 'pi-00' \[80:00:00:00:05:00:00:00\]: remote.it refused"):
        build_inventory(client, connect_service="ssh", connect_mode="eager", connect_workers=1,
                        connections_file=str(tmp_path / "connections.json"))


def test_eager_rejects_connect_workers_below_one(build_inventory, tmp_path):
    with pytest.raises(AnsibleParserError, match="connect_workers must be 1 or more"):
        build_inventory(fleet_with_services(), connect_service="ssh", connect_mode="eager", connect_workers=0,
                        connections_file=str(tmp_path / "connections.json"))


def filter_fleet():
    """kiosk-lobby and kiosk-hall (ssh), pi-kitchen (ssh and an HTTP service), web-01 (HTTP only)."""
    web = device("web-01", "80:00:00:00:04:00:00:00", services=(("web", "01"),))
    web["services"][0].update(application=7, application_name="HTTP")
    kitchen = device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), ("web", "02")))
    kitchen["services"][1].update(application=7, application_name="HTTP")
    client = FakeClient([device("kiosk-lobby", "80:00:00:00:02:00:00:00"), kitchen,
                         device("Kiosk-Hall", "80:00:00:00:03:00:00:00", state="inactive"), web])
    client.application_types = lambda: client.calls.append(("application_types",)) or [
        {"id": 28, "name": "SSH"}, {"id": 7, "name": "HTTP"}]
    return client


@pytest.mark.parametrize("filters, hosts", [
    ({"name_contains": "KIOSK-"}, ["Kiosk-Hall", "kiosk-lobby"]),
    ({"name_contains": "kiosk-", "include_inactive": False}, ["kiosk-lobby"]),
    ({"name": "PI-KITCHEN"}, ["pi-kitchen"]),
    ({"application": "http"}, ["pi-kitchen", "web-01"]),
    ({"application": "28", "name_contains": "i"}, ["Kiosk-Hall", "kiosk-lobby", "pi-kitchen"]),
])
def test_device_filters_leave_out_the_other_devices_as_remoteit_device_info_does(build_inventory, filters, hosts):
    client = filter_fleet()
    inventory = build_inventory(client, **filters)
    assert sorted(inventory.hosts) == hosts
    assert client.count("application_types") == (1 if filters.get("application") == "http" else 0)


def test_an_unknown_application_fails_the_inventory_naming_the_known_ones(build_inventory):
    with pytest.raises(AnsibleParserError, match=r"unknown application 'vnc'; remote.it knows: HTTP, SSH"):
        build_inventory(filter_fleet(), application="vnc")


def test_a_misspelt_option_is_an_error_naming_it_and_the_option_it_may_mean(build_inventory):
    with pytest.raises(AnsibleParserError, match=r"unknown option 'conect_service' \(did you mean connect_service\?\)"):
        build_inventory(fleet_with_services(), conect_service="ssh")


@pytest.mark.parametrize("name, text, warned", [
    ("fleet.yml", "plugin: community.remoteit.remoteit\n", True),
    ("fleet.yaml", "---\n# the fleet\nplugin: 'community.remoteit.remoteit'  # ours\n", True),
    ("hosts.yml", "all:\n  hosts:\n    pi-kitchen:\n", False),
    ("other.yml", "plugin: community.general.proxmox\n", False),
])
def test_a_file_for_this_plugin_under_another_name_is_declined_with_a_hint(tmp_path, monkeypatch, name, text, warned):
    plugin = inventory_loader.get("community.remoteit.remoteit")
    warnings = []
    monkeypatch.setattr(sys.modules[type(plugin).__module__].display, "warning", warnings.append)
    path = tmp_path / name
    path.write_text(text)

    assert plugin.verify_file(str(path)) is False

    assert [w for w in warnings if "which reads only files whose name ends in remoteit.yml or remoteit.yaml" in w] \
        == ([warnings[0]] if warned else []), warnings


def test_an_access_key_the_file_gives_as_a_template_is_rendered_and_one_from_the_environment_is_not(
        build_inventory, monkeypatch, tmp_path):
    given = []
    monkeypatch.setenv("R3_ACCESS_KEY_ID", "{{ 'from the environment' }}")
    monkeypatch.setenv("MY_SECRET", "c2VjcmV0LWZyb20tYS1sb29rdXA=")
    path = tmp_path / "devices.remoteit.yml"
    path.write_text("plugin: community.remoteit.remoteit\nsecret_access_key: \"{{ lookup('env', 'MY_SECRET') }}\"\n")
    plugin = inventory_loader.get("community.remoteit.remoteit")
    monkeypatch.setattr(sys.modules[type(plugin).__module__], "build_client",
                        lambda options, *_args: given.append(dict(options)) or FakeClient(FLEET))

    plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)

    assert given[0]["secret_access_key"] == "c2VjcmV0LWZyb20tYS1sb29rdXA="
    assert given[0]["access_key_id"] == "{{ 'from the environment' }}"


def test_keys_that_yaml_reads_as_other_than_text_are_unknown_options_too(build_inventory, tmp_path):
    plugin = inventory_loader.get("community.remoteit.remoteit")
    path = tmp_path / "devices.remoteit.yml"
    path.write_text("plugin: community.remoteit.remoteit\n1: one\n~: none\n")
    with pytest.raises(AnsibleParserError, match=r"unknown options '1', 'None'"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)


def test_a_pipe_given_as_inventory_is_declined_without_reading_it(tmp_path):
    """ansible-playbook -i <(...) hands a pipe: what it holds belongs to the plugin that reads it."""
    plugin = inventory_loader.get("community.remoteit.remoteit")
    pipe = tmp_path / "fleet.yml"
    os.mkfifo(str(pipe))
    signal.alarm(5)  # a read would wait for a writer forever: fail instead
    try:
        assert plugin.verify_file(str(pipe)) is False
    finally:
        signal.alarm(0)


def test_connect_mode_must_be_one_of_its_choices(build_inventory):
    with pytest.raises(AnsibleError, match="connect_mode"):
        build_inventory(fleet_with_services(), connect_service="ssh", connect_mode="lazy")


def test_the_event_source_names_each_device_as_the_inventory_does_whatever_include_inactive_leaves_out(
        build_inventory):
    # "kiosk 1" and "kiosk/1" are both kiosk_1 as host names; the first one the API lists is inactive, so an
    # inventory that named only what include_inactive=false keeps would call the second plain kiosk_1.
    fleet = [device("kiosk 1", "80:00:00:00:09:00:00:01", state="inactive"),
             device("kiosk/1", "80:00:00:00:09:00:00:02"),
             device("kiosk_1", "80:00:00:00:09:00:00:03"),
             device("gateway-01", "80:00:00:00:03:00:00:00", state="inactive"),
             device("pi-kitchen", "80:00:00:00:01:00:00:00")]
    inventory = build_inventory(FakeClient(fleet), include_inactive=False)
    in_inventory = {host.vars["remoteit_device_id"]: name for name, host in inventory.hosts.items()}

    watcher = DeviceWatcher({"access_key_id": "KEY", "secret_access_key": "c2VjcmV0", "initial": True}, {})
    watcher.client = FakeClient(fleet)
    from_source = {event["remoteit"]["device"]["id"]: event["meta"]["hosts"] for event in watcher.poll()}

    assert from_source == in_inventory == {"80:00:00:00:09:00:00:02": "kiosk_1_09000002",
                                           "80:00:00:00:09:00:00:03": "kiosk_1_09000003",
                                           "80:00:00:00:01:00:00:00": "pi-kitchen"}


@pytest.mark.parametrize("cached", [
    pytest.param([device("pi-kitchen", "-oProxyCommand=touch x")], id="device-id-not-an-id"),
    pytest.param([device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "'-oX'"),))], id="service-id"),
    pytest.param([dict(device("pi-kitchen", "80:00:00:00:01:00:00:00"), name=["a"])], id="name-not-text"),
    pytest.param([{"id": "80:00:00:00:01:00:00:00"}], id="other-format"),
    pytest.param({"devices": []}, id="not-a-list"),
    pytest.param([dict(device("pi-kitchen", "80:00:00:00:01:00:00:00"), name=None)], id="name-null"),
    pytest.param([{key: value for key, value in device("pi-kitchen", "80:00:00:00:01:00:00:00").items() if key != "state"}],
                 id="no-state"),
    pytest.param([device("pi-kitchen", "80:00:00:00:01:00:00:00", services=(("ssh", "01"), (None, "02")))], id="service-name-null"),
])
def test_a_cached_device_list_is_checked_as_the_apis_and_fetched_again_if_it_fails(cached):
    assert inventory_module()._from_cache(json.dumps(cached)) is None


def test_a_valid_cached_device_list_is_used():
    cached = [device("pi-kitchen", "80:00:00:00:01:00:00:00")]
    assert inventory_module()._from_cache(json.dumps(cached)) == cached


def test_host_names_of_long_device_names_are_cut_short(build_inventory):
    inventory = build_inventory(FakeClient([device("x" * 10000, "80:00:00:00:01:00:00:00"),
                                            device("x" * 10000, "80:00:00:00:02:00:00:00")]))
    assert sorted(inventory.hosts) == ["x" * 100, "x" * 100 + "_02000000"]


# -- cache --------------------------------------------------------------------------------------------------------------

ACCOUNT = {"api_url": "https://api.example/graphql/v1", "key_id": "AKFIRSTKEY0001", "account_id": None}


def account_client(devices, **account):
    """A FakeClient of the account `account` (api_url, key_id, account_id) changes from ACCOUNT."""
    client = FakeClient(devices)
    for name, value in dict(ACCOUNT, **account).items():
        setattr(client, name, value)
    return client


@pytest.fixture
def build_cached(tmp_path, monkeypatch):
    """build(client=None, **options) -> InventoryData from devices.remoteit.yml with these options and a jsonfile
    cache, as ansible-inventory builds it: parse, then the cache written."""
    for name in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", "REMOTEIT_PROFILE", "REMOTEIT_CREDENTIALS_FILE",
                 "REMOTEIT_API_URL", "REMOTEIT_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    cache_dir = tmp_path / "cache"
    path = tmp_path / "devices.remoteit.yml"
    plugin = inventory_loader.get("community.remoteit.remoteit")

    def build(client=None, **options):
        if client is not None:
            monkeypatch.setattr(inventory_module(), "build_client", lambda *_args: client)
        path.write_text(json.dumps(dict(options, plugin="community.remoteit.remoteit", cache=True,
                                        cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache_dir))))
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=True)
        plugin.update_cache_if_changed()
        return inventory

    build.cache_dir = cache_dir
    return build


@pytest.mark.parametrize("account", [
    pytest.param({"api_url": "https://api.other.example/graphql/v1"}, id="api_url"),
    pytest.param({"key_id": "AKSECONDKEY002"}, id="key_id"),
    pytest.param({"account_id": "acct-2"}, id="account_id"),
])
def test_the_cache_serves_a_device_list_only_to_the_account_that_listed_it(build_cached, account):
    first = account_client([device("pi-kitchen", "80:00:00:00:01:00:00:00")])
    assert sorted(build_cached(first).hosts) == ["pi-kitchen"]
    again = account_client([device("changed", "80:00:00:00:02:00:00:00")])
    assert sorted(build_cached(again).hosts) == ["pi-kitchen"] and again.count("devices") == 0  # the same account: cached

    other = account_client([device("pi-garage", "80:00:00:00:03:00:00:00")], **account)
    assert sorted(build_cached(other).hosts) == ["pi-garage"]  # not the first account's devices
    assert other.count("devices") == 1
    assert sorted(build_cached(account_client([], **account)).hosts) == ["pi-garage"]  # its own list is cached
    assert sorted(build_cached(account_client([])).hosts) == ["pi-kitchen"]  # and the first account's is still there
    names = " ".join(item.name for item in build_cached.cache_dir.iterdir())
    assert not any(key_id in names for key_id in ("AKFIRSTKEY0001", "AKSECONDKEY002"))  # key ids are hashed


def test_the_cache_takes_the_api_url_as_the_client_normalized_it(build_cached, monkeypatch):
    clients = []
    real_build_client = inventory_module().build_client

    def build_client(*args):
        """A FakeClient of the account the real build_client makes of the options."""
        real = real_build_client(*args)
        clients.append(account_client([device("pi-%d" % len(clients), "80:00:00:00:01:00:00:00")],
                                      api_url=real.api_url, key_id=real.key_id, account_id=real.account_id))
        return clients[-1]

    monkeypatch.setattr(inventory_module(), "build_client", build_client)
    key = {"access_key_id": "AKFIRSTKEY0001", "secret_access_key": "c2VjcmV0"}
    assert sorted(build_cached(api_url="https://api.example/graphql/v1/", account_id="", **key).hosts) == ["pi-0"]
    assert sorted(build_cached(api_url="https://api.example/graphql/v1", **key).hosts) == ["pi-0"]
    assert [client.count("devices") for client in clients] == [1, 0]


# -- tags ---------------------------------------------------------------------------------------------------------------

def tagged_fleet():
    return [device("pi-kitchen", "80:00:00:00:01:00:00:00", tags=["canary", "eu-west"]),
            device("pi-garage", "80:00:00:00:02:00:00:00", tags=["eu-west"]),
            device("gateway", "80:00:00:00:03:00:00:00", state="inactive", tags=["Canary", "line 3/{{ x }}"]),
            device("kiosk", "80:00:00:00:04:00:00:00")]


def test_tags_select_devices_in_remote_it_and_each_tag_makes_a_keyed_group(build_inventory):
    client = FakeClient(tagged_fleet())
    inventory = build_inventory(client, tags=["canary"], keyed_groups=[{"key": "remoteit_tags", "prefix": "tag"}])
    assert sorted(inventory.hosts) == ["gateway", "pi-kitchen"]
    assert [call for call in client.calls if call[0] == "devices"] == [
        ("devices", None, {"operator": "ANY", "values": ["canary", "Canary"]})]
    assert inventory.get_host("gateway").vars["remoteit_tags"] == ["Canary", "line 3/{{ x }}"]
    assert sorted(name for name in inventory.groups if name.startswith("tag_")) == [
        "tag_Canary", "tag_canary", "tag_eu_west", "tag_line_3____x___"]


def test_tags_combine_with_the_other_filters(build_inventory):
    inventory = build_inventory(FakeClient(tagged_fleet()), tags=["canary", "eu-west"], tags_match="all",
                                include_inactive=False)
    assert sorted(inventory.hosts) == ["pi-kitchen"]


def test_the_cache_keeps_the_device_lists_of_other_tags_apart(build_cached):
    assert sorted(build_cached(account_client(tagged_fleet()), tags=["eu-west"]).hosts) == ["pi-garage", "pi-kitchen"]
    other = account_client(tagged_fleet())
    assert sorted(build_cached(other, tags=["canary"]).hosts) == ["gateway", "pi-kitchen"] and other.count("devices") == 1
    cached = account_client([])
    assert sorted(build_cached(cached, tags=["EU-WEST"]).hosts) == ["pi-garage", "pi-kitchen"]
    assert cached.count("devices") == 0, "the same tags in another case are the same list"


def test_a_cached_device_list_without_tags_is_fetched_again():
    cached = [{key: value for key, value in device("pi-kitchen", "80:00:00:00:01:00:00:00").items() if key != "tags"}]
    assert inventory_module()._from_cache(json.dumps(cached)) is None
    assert inventory_module()._from_cache(json.dumps([device("p", "80:00:00:00:01:00:00:00", tags=[1])])) is None
