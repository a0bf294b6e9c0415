# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The settings that answer the API's unknowns: the README's table agrees with the code, and each answers both ways."""

from __future__ import annotations

import dataclasses
import json
import re
import select
import signal
from types import SimpleNamespace

import pytest
import yaml
from remoteit_sandbox import WorldError
from remoteit_sandbox.world import DEMO_KEY_ID, DEMO_SECRET, DEMO_USER_ID, UNKNOWN_SWITCHES, Settings
from .sandbox_helpers import SANDBOX_DIR, TIMEOUT, Client, closed_by_peer, echoes, run_cli, tcp_connect

README = SANDBOX_DIR / "README.md"
SECTION = "## The API's unknowns"
SSH_KITCHEN = "80:00:00:00:01:00:01:01"
SSH_GARAGE = "80:00:00:00:01:00:02:01"
# Ids with hex letters, so that their case shows.
HEX_DEVICE = "80:00:00:00:0A:BC:00:01"
HEX_SSH = "80:00:00:00:0A:BC:01:01"
HEX_OTHER = "80:00:00:00:0A:BC:00:02"
HEX_OTHER_SSH = "80:00:00:00:0A:BC:02:01"
SESSIONS = "{ login { sessions { id target { id } } } }"
LOOKUPS = ('query($d: [String!]!, $s: [String!]!) { login { device(id: $d) { id services { id } } service(id: $s) { id }'
           ' devices(id: $d) { items { id } } } }')
DISCONNECT = "mutation($id: String!, $service: String) { disconnect(connectionId: $id, serviceId: $service) }"


def hex_world():
    """The demo user with two devices whose ids have hex letters (given in mixed case, as a world file may)."""
    def device(device_id, service_id, name):
        return {"id": device_id, "name": name, "services": [
            {"id": service_id, "name": "ssh", "application": 28, "target": "127.0.0.1:${DEVICE_SSH_PORT}"}]}
    return {
        "users": [{"id": DEMO_USER_ID, "email": "demo@example.com", "devices": [
            device(HEX_DEVICE.lower(), HEX_SSH, "hexbox"), device(HEX_OTHER, HEX_OTHER_SSH.lower(), "hexbox-2")]}],
        "access_keys": [{"id": DEMO_KEY_ID, "secret": DEMO_SECRET, "user": DEMO_USER_ID}],
    }


def swapped(text):
    return text.swapcase()


# -- the README's table ----------------------------------------------------------------------------------------

def table_entries(readme_text):
    """[(row number, setting name, value text, marked default)] from the switches column of the unknowns table."""
    start = readme_text.find(SECTION)
    if start < 0:
        return None
    end = readme_text.find("\n## ", start + len(SECTION))
    section = readme_text[start:] if end < 0 else readme_text[start:end]
    entries = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or not cells[0].isdigit():
            continue  # not a row of the table (its header, separator, or the text around it)
        for match in re.finditer(r"`([A-Za-z_]+): ([^`]*)`( \(default)?", cells[2]):
            entries.append((int(cells[0]), match.group(1), match.group(2), bool(match.group(3))))
    return entries


def table_problems(readme_text):
    """What is wrong between the unknowns table of `readme_text` and the settings marked as unknowns' switches."""
    entries = table_entries(readme_text)
    if not entries:
        return [f"no table of settings under {SECTION!r}"]
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    problems, seen = [], {}
    for row, name, text, default in entries:
        if name not in fields:
            problems.append(f"row {row} names the setting {name}, which does not exist")
            continue
        if name not in UNKNOWN_SWITCHES:
            problems.append(f"row {row} names the setting {name}, which is not marked as an unknown's switch")
            continue
        try:
            value = getattr(Settings.merge({name: yaml.safe_load(text)}, {}), name)
        except (WorldError, yaml.YAMLError) as exc:
            problems.append(f"row {row}: {name}: {text} is not a value of the setting ({exc})")
            continue
        if default and value != fields[name].default:
            problems.append(f"row {row}: {name}: {text} is marked default, but the default is {fields[name].default!r}")
        seen.setdefault(name, []).append(value)
    for name in UNKNOWN_SWITCHES:
        if name not in seen:
            problems.append(f"the setting {name} answers an unknown but the table does not name it")
            continue
        missing = [choice for choice in fields[name].metadata["choices"] or () if choice not in seen[name]]
        if missing:
            problems.append(f"the table does not name the values {missing!r} of {name}")
    return problems


def test_the_readme_table_names_exactly_the_settings_that_answer_unknowns():
    text = README.read_text(encoding="utf-8")
    assert table_problems(text) == []
    assert sorted({row for row, *_rest in table_entries(text)}) == list(range(1, 11)), "a row per unknown"


def doctored(old, new):
    text = README.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new)


@pytest.mark.parametrize("text, problem", [
    pytest.param(lambda: doctored("`offline_proxies: stay` (default) or `offline_proxies: close`", "-"),
                 "offline_proxies answers an unknown but the table does not name it", id="a switch missing"),
    pytest.param(lambda: doctored("`connect_session: object` (default) or `connect_session: null`", "`connect_session: object` (default)"),
                 "values ['null'] of connect_session", id="a value missing"),
    pytest.param(lambda: doctored("`id_case: lower`", "`id_case: sideways`"), "id_case: sideways is not a value", id="a bad value"),
    pytest.param(lambda: doctored("`session_ids: same` (default)", "`session_ids: distinct` (default) `session_ids: same`"),
                 "marked default", id="a wrong default"),
    pytest.param(lambda: doctored("`clock_skew: 300`", "`clock_skew: 300` `proxy_count: 3`"),
                 "proxy_count, which does not exist", id="no such setting"),
    pytest.param(lambda: doctored("`clock_skew: 300`", "`clock_skew: 300` `lifetime: 30`"),
                 "lifetime, which is not marked", id="not a switch"),
    pytest.param(lambda: doctored(SECTION, "## Unknowns"), "no table", id="no section"),
])
def test_the_table_check_finds_a_doctored_table(text, problem):
    problems = table_problems(text())
    assert any(problem in found for found in problems), problems


def test_the_switches_have_friendly_defaults_and_validated_values():
    defaults = Settings()
    assert {name: getattr(defaults, name) for name in UNKNOWN_SWITCHES} == {
        "disconnect_unknown": "error", "disconnect_unknown_message": "Connection not found", "sessions_list_unused": True,
        "clock_skew": 300, "session_ids": "same", "connect_session": "object", "id_case": "upper",
        "ids_case_sensitive": False, "offline_proxies": "stay", "tags_case_sensitive": True, "add_tag_undefined": "create",
        "remove_tag_absent": "true", "tag_device_id": "accepted",
    }


@pytest.mark.parametrize("settings, message", [
    ({"session_ids": "other"}, "setting session_ids must be 'same' or 'distinct', not 'other'"),
    ({"connect_session": "none"}, "setting connect_session must be 'object' or 'null'"),
    ({"id_case": "Upper"}, "setting id_case must be 'upper' or 'lower'"),
    ({"ids_case_sensitive": "yes"}, "setting ids_case_sensitive must be false or true"),
    ({"offline_proxies": "closed"}, "setting offline_proxies must be 'stay' or 'close'"),
    ({"remove_tag_absent": "maybe"}, "setting remove_tag_absent must be 'true' or 'false' or 'error'"),
    ({"tag_device_id": "yes"}, "setting tag_device_id must be 'accepted' or 'refused'"),
    ({"disconnect_unknown_message": ""}, "setting disconnect_unknown_message must be a non-empty string"),
    ({"disconnect_unknown_message": 42}, "setting disconnect_unknown_message must be a non-empty string"),
])
def test_bad_switch_values_fail_naming_the_setting(make_sandbox, settings, message):
    world = yaml.safe_load((SANDBOX_DIR / "worlds" / "demo.yml").read_text(encoding="utf-8"))
    with pytest.raises(WorldError, match=re.escape(message)):
        make_sandbox(dict(world, settings=settings))


def test_world_files_write_the_words_false_and_null_bare():
    settings = Settings.merge(yaml.safe_load("disconnect_unknown: false\nconnect_session: null\n"), {})
    assert (settings.disconnect_unknown, settings.connect_session) == ("false", "null")


def test_explicit_arguments_win_over_the_world(make_sandbox):
    world = dict(hex_world(), settings={"id_case": "lower", "session_ids": "distinct", "offline_proxies": "close"})
    sandbox = make_sandbox(world, id_case="upper", offline_proxies="stay")
    assert (sandbox.settings.id_case, sandbox.settings.session_ids, sandbox.settings.offline_proxies) == ("upper", "distinct", "stay")
    assert sandbox.world.find_device(HEX_DEVICE).id == HEX_DEVICE


# -- 1. disconnect of an unknown id ------------------------------------------------------------------------------

@pytest.mark.parametrize("wording", ["Connection expired", "Invalid connection"])
def test_disconnect_of_an_unknown_id_errs_in_the_wording_set(make_sandbox, wording):
    client = Client(make_sandbox(disconnect_unknown_message=wording))
    connection_id = client.connect(SSH_KITCHEN)["id"]
    assert client.disconnect(connection_id)["data"] == {"disconnect": True}
    assert client.error(DISCONNECT, {"id": connection_id}) == wording
    assert client.error(DISCONNECT, {"id": "00000000-0000-4000-8000-000000000000"}) == wording


def test_the_wording_does_not_matter_when_disconnect_answers_false(make_sandbox):
    client = Client(make_sandbox(disconnect_unknown="false", disconnect_unknown_message="Connection expired"))
    assert client.gql(DISCONNECT, {"id": "nothing"}) == {"data": {"disconnect": False}}


# -- 3. session ids, and connect's session -----------------------------------------------------------------------

def test_same_session_ids_are_the_connection_ids(sandbox, client):
    connection = client.connect(SSH_KITCHEN)
    assert connection["session"] == {"id": connection["id"]}
    assert client.data(SESSIONS)["login"]["sessions"] == [{"id": connection["id"], "target": {"id": SSH_KITCHEN}}]
    assert sandbox.proxies()[0]["session_id"] == connection["id"]


def test_distinct_session_ids_are_listed_but_disconnect_takes_the_connection_id(make_sandbox):
    sandbox = make_sandbox(session_ids="distinct")
    client = Client(sandbox)
    connection = client.connect(SSH_KITCHEN)
    session_id = connection["session"]["id"]
    assert session_id != connection["id"] and re.fullmatch(r"[0-9A-F-]{36}", session_id)
    assert client.data(SESSIONS)["login"]["sessions"] == [{"id": session_id, "target": {"id": SSH_KITCHEN}}]
    by_service = client.data('{ login { service(id: ["%s"]) { sessions { id } device { sessions { id } } } } }' % SSH_KITCHEN)
    assert by_service["login"]["service"][0] == {"sessions": [{"id": session_id}], "device": {"sessions": [{"id": session_id}]}}
    assert [(proxy["id"], proxy["session_id"]) for proxy in sandbox.proxies()] == [(connection["id"], session_id)]
    assert client.error(DISCONNECT, {"id": session_id}) == "Connection not found"
    assert len(sandbox.proxies()) == 1, "disconnect of a session id closed the proxy"
    assert client.data(DISCONNECT, {"id": connection["id"]}) == {"disconnect": True}
    assert sandbox.proxies() == [] and client.data(SESSIONS)["login"]["sessions"] == []


@pytest.mark.parametrize("session_ids", ["same", "distinct"])
def test_connect_may_answer_session_null(make_sandbox, session_ids):
    sandbox = make_sandbox(connect_session="null", session_ids=session_ids)
    client = Client(sandbox)
    connection = client.connect(SSH_KITCHEN)
    assert connection["session"] is None
    with tcp_connect(connection["port"]) as sock:
        assert echoes(sock), "the proxy of a connect answered with session null does not work"
    listed = client.data(SESSIONS)["login"]["sessions"]
    assert [session["id"] for session in listed] == [sandbox.proxies()[0]["session_id"]]
    assert (listed[0]["id"] == connection["id"]) == (session_ids == "same")
    assert client.data(DISCONNECT, {"id": connection["id"]}) == {"disconnect": True}


# -- 4. the case of ids ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("id_case", ["upper", "lower"])
def test_ids_are_served_in_the_id_case(make_sandbox, id_case):
    sandbox = make_sandbox(hex_world(), id_case=id_case, session_ids="distinct")
    client = Client(sandbox)
    case = str.lower if id_case == "lower" else str.upper
    devices = client.data("{ login { devices { items { id services { id } } } } }")["login"]["devices"]["items"]
    assert devices == [{"id": case(HEX_DEVICE), "services": [{"id": case(HEX_SSH)}]},
                       {"id": case(HEX_OTHER), "services": [{"id": case(HEX_OTHER_SSH)}]}]
    connection = client.connect(case(HEX_SSH))
    for served in (connection["id"], connection["session"]["id"], client.data(SESSIONS)["login"]["sessions"][0]["id"]):
        assert served == case(served) and served != swapped(served), served
    added = sandbox.add_device({"id": "80:00:00:00:0a:bc:00:03", "name": "new", "services": [
        {"id": "80:00:00:00:0A:bc:03:01", "name": "ssh", "application": 28}]})
    assert (added["id"], added["services"][0]["id"]) == (case("80:00:00:00:0A:BC:00:03"), case("80:00:00:00:0A:BC:03:01"))


@pytest.mark.parametrize("id_case", ["upper", "lower"])
def test_case_insensitive_lookups_find_ids_in_any_case(make_sandbox, id_case):
    sandbox = make_sandbox(hex_world(), id_case=id_case)
    client = Client(sandbox)
    served = HEX_SSH.lower() if id_case == "lower" else HEX_SSH
    other_case = swapped(served)
    found = client.data(LOOKUPS, {"d": [swapped(sandbox.world.find_device("hexbox").id)], "s": [other_case]})["login"]
    assert [service["id"] for service in found["device"][0]["services"]] == [served]
    assert found["service"] == [{"id": served}] and len(found["devices"]["items"]) == 1
    connection = client.connect(other_case)
    assert client.data(DISCONNECT, {"id": swapped(connection["id"]), "service": other_case}) == {"disconnect": True}


@pytest.mark.parametrize("id_case", ["upper", "lower"])
def test_case_sensitive_lookups_find_only_the_served_case(make_sandbox, id_case):
    sandbox = make_sandbox(hex_world(), id_case=id_case, ids_case_sensitive=True)
    client = Client(sandbox)
    device = HEX_DEVICE.lower() if id_case == "lower" else HEX_DEVICE
    service = HEX_SSH.lower() if id_case == "lower" else HEX_SSH
    assert sandbox.world.find_device("hexbox").id == device
    assert client.error('mutation($s: String!) { connect(serviceId: $s) { id } }', {"s": swapped(service)}) \
        == f"Service not found: {swapped(service)}"
    nothing = client.data(LOOKUPS, {"d": [swapped(device)], "s": [swapped(service)]})["login"]
    assert (nothing["device"], nothing["service"], nothing["devices"]["items"]) == ([], [], [])
    found = client.data(LOOKUPS, {"d": [device], "s": [service]})["login"]
    assert (found["device"][0]["id"], found["service"], found["devices"]["items"]) == (device, [{"id": service}], [{"id": device}])

    connection = client.connect(service)
    assert client.error(DISCONNECT, {"id": swapped(connection["id"])}) == "Connection not found"
    assert client.error(DISCONNECT, {"id": connection["id"], "service": swapped(service)}) == "Connection not found"
    assert len(sandbox.proxies()) == 1, "a disconnect in another case closed the proxy"
    assert client.data(DISCONNECT, {"id": connection["id"], "service": service}) == {"disconnect": True}


# -- 5. a device going offline -----------------------------------------------------------------------------------

def test_a_device_offline_keeps_its_proxies_which_work_again_once_it_is_back(sandbox, client):
    kitchen, garage = client.connect(SSH_KITCHEN), client.connect(SSH_GARAGE)
    live = tcp_connect(kitchen["port"])
    assert echoes(live)
    sandbox.set_device_state("pi-kitchen", "inactive")
    assert closed_by_peer(live), "the live connection through the proxy outlived its device going offline"
    live.close()
    assert sorted(proxy["id"] for proxy in sandbox.proxies()) == sorted([kitchen["id"], garage["id"]])
    with tcp_connect(kitchen["port"]) as sock:
        assert closed_by_peer(sock), "a proxy forwarded to a device that is offline"
    sandbox.set_device_state("pi-kitchen", "active")
    with tcp_connect(kitchen["port"]) as sock:
        assert echoes(sock)


def test_a_device_offline_closes_its_proxies_with_offline_proxies_close(make_sandbox):
    sandbox = make_sandbox(offline_proxies="close")
    client = Client(sandbox)
    kitchen, garage = client.connect(SSH_KITCHEN), client.connect(SSH_GARAGE)
    live = tcp_connect(kitchen["port"])
    assert echoes(live)
    sandbox.set_device_state("pi-kitchen", "inactive")
    assert closed_by_peer(live)
    live.close()
    assert [proxy["id"] for proxy in sandbox.proxies()] == [garage["id"]], "only the offline device's proxy closes"
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(kitchen["port"])
    assert [session["id"] for session in client.data(SESSIONS)["login"]["sessions"]] == [garage["id"]]
    assert client.error(DISCONNECT, {"id": kitchen["id"]}) == "Connection not found"
    sandbox.set_device_state("pi-kitchen", "active")
    assert [proxy["id"] for proxy in sandbox.proxies()] == [garage["id"]], "a closed proxy came back"


# -- the command line --------------------------------------------------------------------------------------------

def test_cli_flags_set_every_switch(tmp_path):
    process = run_cli("--disconnect-unknown-message", "Invalid connection", "--session-ids", "distinct", "--connect-session", "null",
                      "--id-case", "lower", "--ids-case-sensitive", "true", "--offline-proxies", "close", "--sessions-list-unused", "false")
    try:
        assert select.select([process.stdout], [], [], TIMEOUT)[0], "no ready line"
        ready = json.loads(process.stdout.readline())
        client = Client(SimpleNamespace(url=ready["url"], credentials=(DEMO_KEY_ID, DEMO_SECRET)))
        connection = client.data('mutation { connect(serviceId: "80:00:00:00:01:00:01:01") { id session { id } } }')["connect"]
        assert connection["session"] is None and connection["id"] == connection["id"].lower()
        assert client.data(SESSIONS)["login"]["sessions"] == [], "sessions_list_unused false"
        assert client.error(DISCONNECT, {"id": connection["id"].upper()}) == "Invalid connection"
        assert client.data(DISCONNECT, {"id": connection["id"]}) == {"disconnect": True}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)


def test_cli_refuses_a_bad_switch_value():
    process = run_cli("--offline-proxies", "sometimes")
    stderr = process.communicate(timeout=TIMEOUT)[1]
    assert process.returncode == 2 and "--offline-proxies" in stderr
