# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The event source community.remoteit.device_events against the sandbox, with an asyncio queue.

The tests step through polls: the source's wait between polls hands control to the test, so "no event" means
"no event after that poll", never "none within some time".
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading

import pytest
import yaml
from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.vars import load_extra_vars
from remoteit_sandbox import generate_world

from ansible_collections.community.remoteit.extensions.eda.plugins.event_source.device_events import (
    MAX_BACKOFF,
    DeviceWatcher,
    main,
)
from ansible_collections.community.remoteit.plugins.plugin_utils._api import RemoteitClient
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import RemoteitError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import CONNECTION_OPTIONS

from ..plugins.plugin_utils.http_fakes import http_response

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19: any string is a template
    def trust_as_template(value):
        return value

INTERVAL = 2
GARAGE = "80:00:00:00:01:00:00:02"
NEW_DEVICE = {"id": "80:00:00:00:01:00:00:99", "name": "pi-new",
              "services": [{"id": "80:00:00:00:01:00:99:01", "name": "ssh", "application": 28}]}
# The demo user's active devices, in the order the API lists them (by name).
ONLINE_AT_START = ["kiosk-lobby", "KIOSK-LOBBY", "pi-garage", "pi-kitchen"]


def source_args(sandbox, **extra):
    """Arguments that point the source at the sandbox, with no credentials file and no retries of its own."""
    key_id, secret = sandbox.credentials
    return dict({"api_url": sandbox.url, "access_key_id": key_id, "secret_access_key": secret,
                 "credentials_file": "/nonexistent/remoteit-credentials", "retries": 0, "interval": INTERVAL}, **extra)


def run(scenario):
    """Run an async test scenario; a source that never gets to its next poll fails the test instead of hanging."""
    asyncio.run(asyncio.wait_for(scenario(), 120))


class Stepper:
    """Runs a DeviceWatcher whose wait between polls returns only when the test asks for the next poll."""

    def __init__(self, watcher):
        self.watcher = watcher
        self.queue = asyncio.Queue()
        self.delays = []  # what each wait was asked to last
        self._polled = asyncio.Queue()
        self._next = asyncio.Queue()
        self.task = None

    async def _sleep(self, delay):
        self.delays.append(delay)
        await self._polled.put(None)
        await self._next.get()

    async def start(self):
        """Start the source and let its first poll (the baseline) finish; the events it put on the queue."""
        self.task = asyncio.create_task(self.watcher.run(self.queue, sleep=self._sleep))
        return await self._finished()

    async def poll(self):
        """Let the next poll run to its end; the events it put on the queue."""
        await self._next.put(None)
        return await self._finished()

    async def _finished(self):
        polled = asyncio.create_task(self._polled.get())
        await asyncio.wait([polled, self.task], return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            polled.cancel()
            self.task.result()  # raises what ended the source
            pytest.fail("the source ended")
        events = []
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        return events

    async def stop(self):
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


def summary(events):
    """(type, meta.hosts) of each event."""
    return [(event["remoteit"]["type"], event["meta"]["hosts"]) for event in events]


def device_queries(sandbox):
    """The variables of each device query the sandbox answered."""
    return [entry["variables"] for entry in sandbox.requests() if entry["fields"] == ["login"]]


def as_device_info_lists(sandbox, name):
    """The device as remoteit_device_info returns it: as the collection's client lists it."""
    key_id, secret = sandbox.credentials
    client = RemoteitClient(key_id, secret, "the test", api_url=sandbox.url)
    return next(device for device in client.iter_devices() if device["name"] == name)


def test_the_baseline_emits_nothing_and_unchanged_devices_never_get_an_event(sandbox):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        assert await stepper.start() == []
        assert await stepper.poll() == []
        assert await stepper.poll() == []
        await stepper.stop()
        assert stepper.delays == [INTERVAL] * 3
        assert len(device_queries(sandbox)) == 3, "one query per poll for a world of fewer than 1000 devices"

    run(scenario)


def test_online_offline_appeared_and_disappeared_each_come_exactly_once(sandbox):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        assert await stepper.start() == []

        sandbox.set_device_state("pi-garage", "inactive")
        offline = await stepper.poll()
        assert offline == [{"remoteit": {"type": "offline", "device": as_device_info_lists(sandbox, "pi-garage")},
                            "meta": {"hosts": "pi-garage"}}]
        assert offline[0]["remoteit"]["device"]["services"][0]["state"] == "inactive"
        assert await stepper.poll() == []

        sandbox.set_device_state(GARAGE, "active")
        online = await stepper.poll()
        assert online == [{"remoteit": {"type": "online", "device": as_device_info_lists(sandbox, "pi-garage")},
                           "meta": {"hosts": "pi-garage"}}]
        assert await stepper.poll() == []

        sandbox.add_device(NEW_DEVICE)
        appeared = await stepper.poll()
        assert appeared == [{"remoteit": {"type": "appeared", "device": as_device_info_lists(sandbox, "pi-new")},
                             "meta": {"hosts": "pi-new"}}]
        assert await stepper.poll() == []

        sandbox.remove_device("pi-new")
        disappeared = await stepper.poll()
        assert disappeared == [{"remoteit": {"type": "disappeared", "device": appeared[0]["remoteit"]["device"]},
                                "meta": {"hosts": "pi-new"}}], "a device that is gone is described as last seen"
        assert await stepper.poll() == []
        await stepper.stop()

    run(scenario)


def test_a_device_that_goes_offline_and_back_between_two_polls_did_not_change(sandbox):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        sandbox.set_device_state("pi-garage", "inactive")
        sandbox.set_device_state("pi-garage", "active")
        assert await stepper.poll() == []
        await stepper.stop()

    run(scenario)


def test_initial_true_makes_the_baseline_an_online_event_per_device_online_at_start(sandbox):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox, initial=True), {}))
        assert summary(await stepper.start()) == [("online", name) for name in ONLINE_AT_START]
        assert await stepper.poll() == []
        await stepper.stop()

    run(scenario)


def test_one_query_per_1000_devices_per_poll(make_sandbox):
    sandbox = make_sandbox(generate_world(2500))

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        await stepper.poll()
        await stepper.stop()

    run(scenario)
    pages = [(0, 1000), (1000, 1000), (2000, 1000)]
    assert [(query["from"], query["size"]) for query in device_queries(sandbox)] == pages * 2


def test_meta_hosts_is_the_host_name_the_inventory_plugin_gives_the_device(make_sandbox):
    # Both names become kiosk_1 as host names: the inventory keeps the second apart by the end of its id, in the
    # order the API lists the devices, whatever the source's filters leave out.
    devices = [{"id": "80:00:00:00:09:00:00:%02d" % index, "name": name,
                "services": [{"id": "80:00:00:00:09:00:%02d:01" % index, "name": "ssh", "application": application}]}
               for index, name, application in ((1, "kiosk 1", 4), (2, "kiosk/1", 28))]
    sandbox = make_sandbox({"access_keys": [{"id": "KEY", "secret": "c2VjcmV0", "user": "u1"}],
                            "users": [{"id": "u1", "email": "u1@example.com", "devices": devices}]})

    async def scenario():
        every = Stepper(DeviceWatcher(source_args(sandbox, initial=True), {}))
        assert summary(await every.start()) == [("online", "kiosk_1"), ("online", "kiosk_1_09000002")]
        await every.stop()
        ssh_only = Stepper(DeviceWatcher(source_args(sandbox, initial=True, application="ssh"), {}))
        assert summary(await ssh_only.start()) == [("online", "kiosk_1_09000002")]
        await ssh_only.stop()

    run(scenario)


def test_name_contains_and_application_filter_as_remoteit_device_info_does(sandbox):
    async def scenario():
        kiosks = Stepper(DeviceWatcher(source_args(sandbox, initial=True, name_contains="KIOSK"), {}))
        assert summary(await kiosks.start()) == [("online", "kiosk-lobby"), ("online", "KIOSK-LOBBY")]
        sandbox.set_device_state("pi-garage", "inactive")
        assert await kiosks.poll() == [], "pi-garage is not watched"
        await kiosks.stop()

        sandbox.clear_requests()
        web = Stepper(DeviceWatcher(source_args(sandbox, initial=True, application="http"), {}))
        assert summary(await web.start()) == [("online", "pi-kitchen")]
        await web.poll()
        await web.stop()
        asked = [entry["fields"] for entry in sandbox.requests()]
        assert asked == [["applicationTypes"], ["login"], ["login"]], "application names are looked up once"

    run(scenario)


@pytest.mark.parametrize("case_sensitive", [True, False])
def test_tags_select_devices_in_remote_it_and_a_device_tagged_later_appears(make_sandbox, case_sensitive):
    sandbox = make_sandbox(tags_case_sensitive=case_sensitive)
    key_id, secret = sandbox.credentials
    tagger = RemoteitClient(key_id, secret, "the test", api_url=sandbox.url)

    async def scenario():
        kiosks = Stepper(DeviceWatcher(source_args(sandbox, initial=True, tags="KIOSK"), {}))
        started = await kiosks.start()
        assert summary(started) == [("online", "kiosk-lobby"), ("online", "KIOSK-LOBBY")]
        assert [event["remoteit"]["device"]["tags"] for event in started] == [["kiosk"], ["Kiosk"]]
        tagger.add_tags(["kiosk"], ["80:00:00:00:01:00:00:02"])
        assert summary(await kiosks.poll()) == [("appeared", "pi-garage")]
        tagger.remove_tags(["Kiosk"], ["80:00:00:00:01:00:00:05"])
        assert summary(await kiosks.poll()) == [("disappeared", "KIOSK-LOBBY")]
        await kiosks.stop()

    sandbox.clear_requests()
    run(scenario)
    filters = [entry["variables"].get("tag") for entry in sandbox.requests() if entry["fields"] == ["login"]]
    assert filters[:2] == [None, {"operator": "ANY", "values": ["kiosk", "Kiosk"]}], "the account's tags, then its devices"


def test_a_tags_match_that_is_neither_any_nor_all_ends_the_source_at_once(sandbox):
    with pytest.raises(RemoteitError, match="tags_match must be any or all, not 'most'"):
        DeviceWatcher(source_args(sandbox, tags=["canary"], tags_match="most"), {})
    with pytest.raises(RemoteitError, match="tags: '' is not a tag name"):
        DeviceWatcher(source_args(sandbox, tags=[""]), {})


def test_throttled_polls_back_off_exponentially_and_the_source_goes_on(sandbox, caplog):
    sandbox.add_faults([{"field": "login", "status": 429, "retry_after": 0, "times": 3}])

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        assert await stepper.start() == []
        for _failed in range(2):
            assert await stepper.poll() == []
        assert await stepper.poll() == [], "the first poll that succeeds is the baseline"
        sandbox.set_device_state("pi-garage", "inactive")
        assert summary(await stepper.poll()) == [("offline", "pi-garage")]
        await stepper.stop()
        assert stepper.delays == [2 * INTERVAL, 4 * INTERVAL, 8 * INTERVAL, INTERVAL, INTERVAL]

    with caplog.at_level(logging.INFO, logger="community.remoteit.device_events"):
        run(scenario)
    assert "poll 3 in a row failed (throttled)" in caplog.text
    assert "polling works again after 3 failed polls" in caplog.text


def test_the_clients_own_retries_absorb_a_short_throttle_within_one_poll(sandbox):
    sandbox.add_faults([{"field": "login", "status": 429, "retry_after": 0, "times": 1}])

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox, retries=1), {}))
        await stepper.start()
        await stepper.stop()
        assert stepper.delays == [INTERVAL]

    run(scenario)
    assert [entry["status"] for entry in sandbox.requests()] == [429, 200]


def test_network_server_and_malformed_answers_do_not_end_the_source_nor_lose_what_it_knew(sandbox, caplog):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        sandbox.set_device_state("pi-garage", "inactive")
        sandbox.add_faults([{"field": "login", "drop_response": True}, {"field": "login", "status": 503},
                            {"field": "login", "malformed": True}])
        for _failed in range(3):
            assert await stepper.poll() == []
        assert summary(await stepper.poll()) == [("offline", "pi-garage")]
        await stepper.stop()
        assert stepper.delays == [INTERVAL, 2 * INTERVAL, 4 * INTERVAL, 8 * INTERVAL, INTERVAL]

    with caplog.at_level(logging.WARNING, logger="community.remoteit.device_events"):
        run(scenario)
    assert [re.search(r"failed \((\w+)\)", record.getMessage()).group(1) for record in caplog.records] \
        == ["network", "api", "response"]
    _key_id, secret = sandbox.credentials
    assert secret not in caplog.text


def test_an_unexpected_error_in_a_poll_does_not_end_the_source_and_polling_resumes(sandbox, monkeypatch, caplog):
    # A device whose name is not a string: the API's data as this code does not expect it. Such a poll fails as a
    # whole, so that the source neither makes up events nor forgets what it knew.
    odd = {"id": "80:00:00:00:01:00:00:98", "name": 5, "state": "active", "online": True, "services": []}
    iter_devices = RemoteitClient.iter_devices
    odd_polls = []

    def with_an_odd_device(client, *args, **kwargs):
        yield from iter_devices(client, *args, **kwargs)
        if odd_polls:
            odd_polls.pop()
            yield odd

    monkeypatch.setattr(RemoteitClient, "iter_devices", with_an_odd_device)

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        sandbox.set_device_state("pi-garage", "inactive")
        odd_polls.extend([True, True])
        assert await stepper.poll() == []
        assert await stepper.poll() == []
        assert summary(await stepper.poll()) == [("offline", "pi-garage")]
        await stepper.stop()
        assert stepper.delays == [INTERVAL, 2 * INTERVAL, 4 * INTERVAL, INTERVAL]

    with caplog.at_level(logging.INFO, logger="community.remoteit.device_events"):
        run(scenario)
    failed = [record for record in caplog.records if "in a row failed" in record.getMessage()]
    assert [record.getMessage() for record in failed] == [
        "remote.it: poll 1 in a row failed (unexpected error); next poll in %d s" % (2 * INTERVAL),
        "remote.it: poll 2 in a row failed (unexpected error); next poll in %d s" % (4 * INTERVAL)]
    assert all(record.exc_info and record.exc_info[0] is TypeError for record in failed), "logged with its traceback"
    assert "polling works again after 2 failed polls" in caplog.text
    _key_id, secret = sandbox.credentials
    assert secret not in caplog.text


INVALID_INPUT = {"errors": [{"message": 'Cannot query field "online" on type "Device".',
                             "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}


def test_the_server_rejecting_a_poll_as_invalid_input_backs_off_instead_of_ending_the_source(
        sandbox, monkeypatch, caplog):
    post = RemoteitClient._post  # pylint: disable=protected-access
    rejected = []

    def rejecting(client, body):
        if rejected:
            rejected.pop()
            return http_response(400, body=INVALID_INPUT), None  # a query it no longer accepts
        return post(client, body)

    monkeypatch.setattr(RemoteitClient, "_post", rejecting)

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        sandbox.set_device_state("pi-garage", "inactive")
        rejected.extend([True, True])
        assert await stepper.poll() == []
        assert await stepper.poll() == []
        assert summary(await stepper.poll()) == [("offline", "pi-garage")]
        await stepper.stop()
        assert stepper.delays == [INTERVAL, 2 * INTERVAL, 4 * INTERVAL, INTERVAL]

    with caplog.at_level(logging.WARNING, logger="community.remoteit.device_events"):
        run(scenario)
    assert "poll 2 in a row failed (invalid_input): remote.it answered HTTP 400: Cannot query field" in caplog.text
    _key_id, secret = sandbox.credentials
    assert secret not in caplog.text


def test_failing_to_look_up_the_application_at_the_first_poll_backs_off_and_looks_again(sandbox):
    sandbox.add_faults([{"field": "applicationTypes", "status": 503}])

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox, initial=True, application="http"), {}))
        assert await stepper.start() == []
        assert summary(await stepper.poll()) == [("online", "pi-kitchen")], "the baseline, once a poll succeeds"
        await stepper.stop()
        assert stepper.delays == [2 * INTERVAL, INTERVAL]

    run(scenario)


def test_a_wait_never_exceeds_the_cap_unless_the_interval_does(sandbox):
    watcher = DeviceWatcher(source_args(sandbox, interval=60), {})
    assert [watcher.backoff(failures) for failures in range(1, 7)] == [120, 240, 480, MAX_BACKOFF, MAX_BACKOFF,
                                                                       MAX_BACKOFF]
    assert DeviceWatcher(source_args(sandbox, interval=1800), {}).backoff(3) == 1800


def test_an_unknown_application_ends_the_source_at_its_first_poll(sandbox):
    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox, application="telnet"), {}))
        with pytest.raises(RemoteitError, match="unknown application 'telnet'; remote.it knows: HTTP, HTTPS"):
            await stepper.start()

    run(scenario)


@pytest.mark.parametrize("args, message", [
    ({"intreval": 5}, "unknown option intreval; it takes: interval, initial, name_contains, application, tags, tags_match, access_key_id"),
    ({"interval": 0}, "interval must be 1 second or more"),
    ({"interval": "soon"}, "interval must be a whole number, not 'soon'"),
    ({"interval": "--5"}, "interval must be a whole number, not '--5'"),
    ({"request_timeout": "5-"}, "request_timeout must be a whole number, not '5-'"),
    ({"initial": "maybe"}, "initial must be true or false, not 'maybe'"),
    ({"secret_access_key": ["c2VjcmV0"]}, "secret_access_key must be a string, not that"),
])
def test_options_that_cannot_work_end_the_source_at_once(sandbox, args, message):
    with pytest.raises(RemoteitError, match=message) as raised:
        DeviceWatcher(dict(source_args(sandbox), **args), {})
    assert raised.value.kind == "invalid_input"


def test_no_access_key_anywhere_ends_the_source_naming_every_place_it_looked(sandbox):
    with pytest.raises(RemoteitError) as raised:
        DeviceWatcher({"api_url": sandbox.url, "credentials_file": "/nonexistent/remoteit-credentials"}, {})
    assert raised.value.kind == "credentials"
    assert "the event source's arguments in the rulebook (access_key_id, secret_access_key), the environment " \
           "(R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY)" in str(raised.value)


def test_an_option_in_the_rulebook_wins_over_its_environment_variable_which_wins_over_the_default(sandbox):
    key_id, secret = sandbox.credentials
    environ = {"R3_ACCESS_KEY_ID": key_id, "R3_SECRET_ACCESS_KEY": secret, "REMOTEIT_API_URL": "http://127.0.0.1:9/x",
               "REMOTEIT_VALIDATE_CERTS": "no", "REMOTEIT_ACCOUNT_ID": "", "REMOTEIT_CREDENTIALS_FILE": "/nonexistent"}
    watcher = DeviceWatcher({"api_url": sandbox.url, "request_timeout": "5", "interval": "3"}, environ)
    client = watcher.client
    assert (client.key_id, client.api_url, client.validate_certs, client.request_timeout, client.account_id) \
        == (key_id, sandbox.url, False, 5, None)
    assert (client.retries, watcher.interval, watcher.initial) == (CONNECTION_OPTIONS["retries"][1], 3, False)
    assert "the environment (R3_ACCESS_KEY_ID, R3_SECRET_ACCESS_KEY)" in client.key_origin


def test_main_polls_in_a_thread_so_the_rulebooks_event_loop_goes_on_meanwhile(sandbox, monkeypatch):
    """The first poll waits, in its thread, for a gate that only the event loop opens: were the poll run on the
    loop, the gate would never open and the poll would fail."""
    for _kind, _default, variable in CONNECTION_OPTIONS.values():
        if variable:
            monkeypatch.delenv(variable, raising=False)
    gate = threading.Event()
    iter_devices = RemoteitClient.iter_devices

    def gated(client, *args, **kwargs):
        assert gate.wait(30), "the event loop never ran while the poll waited"
        return iter_devices(client, *args, **kwargs)

    monkeypatch.setattr(RemoteitClient, "iter_devices", gated)

    async def scenario():
        queue = asyncio.Queue()
        source = asyncio.create_task(main(queue, source_args(sandbox, initial=True)))
        await asyncio.sleep(0)
        gate.set()
        first = await queue.get()
        source.cancel()
        with pytest.raises(asyncio.CancelledError):
            await source
        assert summary([first]) == [("online", ONLINE_AT_START[0])]

    run(scenario)


WORD_JOINER = "\u2060"
# Names as whoever registers a device may choose them: templates that would run a command where the playbook runs.
HOSTILE_NAME = "{{ lookup('pipe', 'touch %s') }}"
HOSTILE_SERVICE = "{%% set x = lookup('pipe', 'touch %s') %%}{# hidden #}{{ x }} {"
# A header that sets other delimiters: no "{" is needed to run code then.
HOSTILE_HEADER = "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch %s') ]]"


def hostile_device(tmp_path):
    """A device whose name, whose service's name and whose tag touch a marker file in tmp_path, were they ever
    templated."""
    return {"id": "80:00:00:00:01:00:00:66", "name": HOSTILE_NAME % (tmp_path / "name-ran"),
            "tags": [HOSTILE_NAME % (tmp_path / "tag-ran")],
            "services": [{"id": "80:00:00:00:01:00:66:01", "name": HOSTILE_SERVICE % (tmp_path / "service-ran"),
                          "application": 28},
                         {"id": "80:00:00:00:01:00:66:02", "name": HOSTILE_HEADER % (tmp_path / "header-ran"),
                          "application": 28}]}


def appeared(sandbox, device):
    """The event of `device` appearing after the baseline."""
    events = []

    async def scenario():
        stepper = Stepper(DeviceWatcher(source_args(sandbox), {}))
        await stepper.start()
        sandbox.add_device(device)
        events.extend(await stepper.poll())
        await stepper.stop()

    run(scenario)
    assert [event["remoteit"]["type"] for event in events] == ["appeared"]
    return events[0]


def strings(value):
    """Every string in an event, keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def visible(text):
    return text.replace(WORD_JOINER, "")


def as_run_playbook_hands_it_on(event, tmp_path, monkeypatch):
    """A Templar over the extra vars of the playbook that ansible-rulebook's run_playbook starts for `event`:
    the rules engine passes the event on as JSON, run_playbook writes {"ansible_eda": {..., "event": ...}} to
    env/extravars with yaml.dump, and ansible-runner hands that file to ansible-playbook as -e @file, which this
    core loads with load_extra_vars."""
    extravars = tmp_path / "extravars"
    as_the_rules_engine_returns_it = json.loads(json.dumps(event))
    extravars.write_text(yaml.dump({"ansible_eda": {"ruleset": "rs", "rule": "r",
                                                    "event": as_the_rules_engine_returns_it}}))
    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=("@%s" % extravars,)))
    monkeypatch.setattr(load_extra_vars, "extra_vars", None, raising=False)  # it keeps what it loaded first
    loader = DataLoader()
    return Templar(loader, variables=load_extra_vars(loader))


def test_names_read_as_registered_but_no_string_of_the_event_holds_a_template_delimiter(sandbox, tmp_path):
    hostile = hostile_device(tmp_path)
    event = appeared(sandbox, hostile)
    device = event["remoteit"]["device"]
    assert device["name"] == "{" + WORD_JOINER + hostile["name"][1:], "one invisible character, after the first {"
    assert visible(device["name"]) == hostile["name"]
    # remote.it lists services by name: the "#jinja2:" one first
    assert visible(device["services"][1]["name"]) == hostile["services"][0]["name"]
    assert device["services"][1]["name"].endswith(" {" + WORD_JOINER), "a final { cannot make one with what follows"
    assert not [text for text in strings(event) if re.search(r"\{[{%#]", text) or text.startswith("#jinja2:")]
    assert visible(device["services"][0]["name"]) == hostile["services"][1]["name"]
    assert [visible(tag) for tag in device["tags"]] == hostile["tags"]
    listed = as_device_info_lists(sandbox, hostile["name"])
    assert {key: value for key, value in device.items() if key not in ("name", "services", "tags")} \
        == {key: value for key, value in listed.items() if key not in ("name", "services", "tags")}, "the rest is as listed"


def test_a_playbook_that_run_playbook_starts_uses_hostile_names_as_text_and_runs_nothing(
        sandbox, tmp_path, monkeypatch):
    hostile = hostile_device(tmp_path)
    templar = as_run_playbook_hands_it_on(appeared(sandbox, hostile), tmp_path, monkeypatch)
    name = templar.template(trust_as_template("{{ ansible_eda.event.remoteit.device.name }}"))
    header = templar.template(trust_as_template("{{ ansible_eda.event.remoteit.device.services[0].name }}"))
    service = templar.template(trust_as_template("{{ ansible_eda.event.remoteit.device.services[1].name }}"))
    whole = templar.template(trust_as_template("{{ ansible_eda.event }}"))
    tag = templar.template(trust_as_template("{{ ansible_eda.event.remoteit.device.tags[0] }}"))
    # What a playbook made of them, put where it would be templated again (a fact on 2.16-2.18, say): still text.
    again = templar.template(trust_as_template(name + " " + service))
    assert not list(tmp_path.glob("*-ran")), "a name ran a command"
    assert (visible(name), visible(service)) == (hostile["name"], hostile["services"][0]["name"])
    assert visible(header) == hostile["services"][1]["name"]
    assert visible(tag) == hostile["tags"][0]
    assert visible(whole["remoteit"]["device"]["name"]) == hostile["name"]
    assert visible(again) == hostile["name"] + " " + hostile["services"][0]["name"]
    assert templar.template(trust_as_template("{{ ansible_eda.event.remoteit.type }}")) == "appeared"
