# -*- coding: utf-8 -*-
# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The callback community.remoteit.close_opened closes, as a run ends, the proxies that run opened and no other: not
one it reused from an earlier run, not one another job handed over. Proxies are opened here through ProxyManager as
the modules and plugins open them, against a fake remote.it."""

from __future__ import annotations

import multiprocessing
import os
import sys

import pytest
from ansible import constants as C
from ansible.plugins.loader import callback_loader

from ansible_collections.community.remoteit.plugins.plugin_utils import _lifecycle, _untrusted
from ansible_collections.community.remoteit.plugins.plugin_utils._connections import ConnectionStore
from ansible_collections.community.remoteit.plugins.plugin_utils._errors import AuthError, NetworkError
from ansible_collections.community.remoteit.plugins.plugin_utils._options import CONNECTION_OPTIONS
from ansible_collections.community.remoteit.plugins.plugin_utils._proxies import ProxyManager
from ansible_collections.community.remoteit.plugins.plugin_utils._records import handed_records, to_result

from ..plugin_utils.fakes import FakeClient

NAME = "community.remoteit.close_opened"
SECRET = "c2VjcmV0LW9mLXRoZS10ZXN0"
LATCHING = "255.255.255.255"


def target(suffix):
    return {"service_id": "80:00:00:00:01:00:00:%s" % suffix, "service_name": "ssh",
            "device_id": "80:00:00:00:01:00:00:00", "device_name": "pi-kitchen", "device_state": "active",
            "service_state": "active"}


class Display:
    """Collects what the callback shows, by kind."""

    def __init__(self):
        self.warnings, self.verbose = [], []

    def warning(self, message):
        self.warnings.append(message)

    def v(self, message):
        self.verbose.append(message)

    def display(self, message, **_kwargs):
        self.verbose.append(message)


@pytest.fixture
def world(monkeypatch, tmp_path):
    """A fake remote.it, the connections file the callback is configured with, and a way to load the callback as
    ansible-core does (its options from the environment) once the run starts."""
    monkeypatch.delenv(_lifecycle.RUN_ID_VARIABLE, raising=False)
    for name in ("REMOTEIT_PROFILE", "REMOTEIT_ACCOUNT_ID", "REMOTEIT_VALIDATE_CERTS"):
        monkeypatch.delenv(name, raising=False)
    path = str(tmp_path / "connections.json")
    monkeypatch.setenv("REMOTEIT_CONNECTIONS_FILE", path)
    monkeypatch.setenv("REMOTEIT_API_URL", FakeClient.api_url)
    monkeypatch.setenv("REMOTEIT_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("R3_ACCESS_KEY_ID", "AKTEST")
    monkeypatch.setenv("R3_SECRET_ACCESS_KEY", SECRET)
    client = FakeClient()
    built = []

    def build_client(options, sources, warn):
        built.append(options["api_url"])
        return client

    def load_callback():
        callback = callback_loader.get(NAME)
        callback.set_options()
        callback._display = Display()
        monkeypatch.setattr(sys.modules[type(callback).__module__], "build_client", build_client)
        return callback

    class World:
        pass

    world = World()
    world.client, world.store, world.built, world.load_callback = client, ConnectionStore(path), built, load_callback
    world.manager = lambda handed=(): ProxyManager(client, world.store, handed)
    return world


def in_another_run(monkeypatch):
    """What runs next belongs to another ansible-playbook run: a worker of another controller process."""
    monkeypatch.setattr(_lifecycle.multiprocessing, "parent_process", object)  # a multiprocessing child
    monkeypatch.setenv(_lifecycle.RUN_ID_VARIABLE, "%d-%s" % (os.getppid(), os.urandom(16).hex()))


def recorded(world):
    return sorted(record["id"] for record in world.store.records())


def live(world):
    return sorted(session["id"] for session in world.client.session_list)


def test_only_the_proxies_this_run_opened_are_closed_not_those_it_reused_or_was_handed(world, tmp_path, monkeypatch):
    # An earlier run (another controller process) opened one; another job, with a connections file of its own,
    # opened one and hands it over.
    in_another_run(monkeypatch)
    earlier = world.manager().open(target("01"), LATCHING)
    other_job = ProxyManager(world.client, ConnectionStore(str(tmp_path / "other-job.json"))).open(target("02"), LATCHING)
    callback = world.load_callback()
    callback.v2_playbook_on_start(None)
    # This run reuses both, and opens two: one of a service nobody had, one that replaces a reused one.
    run = world.manager(handed_records([to_result(other_job)]))
    assert run.ensure(target("01"), LATCHING, renew_before=0)[1] is True
    assert run.ensure(target("02"), LATCHING, renew_before=0)[1] is True
    opened = [run.ensure(target("03"), LATCHING, renew_before=0)[0],
              run.ensure(target("01"), LATCHING, renew_before=0, force=True)[0]]

    callback.v2_playbook_on_stats(None)

    assert live(world) == sorted([earlier["id"], other_job["id"]])
    assert recorded(world) == sorted([earlier["id"], other_job["id"]])
    assert world.client.count("disconnect") == 2
    assert callback._display.warnings == []
    assert callback._display.verbose == ["community.remoteit.close_opened: closed the proxies this run opened: %s" % ", ".join(
        "%s (service %s)" % (record["id"], record["service_id"]) for record in opened)]


def test_a_run_that_opened_nothing_asks_remote_it_nothing_and_needs_no_key(world, monkeypatch):
    in_another_run(monkeypatch)
    world.manager().open(target("01"), LATCHING)  # an earlier run's
    monkeypatch.delenv("R3_SECRET_ACCESS_KEY")
    callback = world.load_callback()
    world.manager().ensure(target("01"), LATCHING, renew_before=0)
    world.manager().ensure(target("02"), LATCHING, renew_before=0, check_mode=True)  # --check opens nothing

    callback.v2_playbook_on_stats(None)

    assert world.built == [] and world.client.count("disconnect") == 0
    assert len(recorded(world)) == 1 and callback._display.warnings == []


def test_a_proxy_that_cannot_be_closed_is_a_warning_naming_it_its_record_stays_and_the_others_close(world, monkeypatch):
    callback = world.load_callback()
    stuck, closing = world.manager().open(target("01"), LATCHING), world.manager().open(target("02"), LATCHING)
    disconnect = world.client.disconnect

    def failing(connection_id, service_id=None):
        if connection_id == stuck["id"]:
            raise NetworkError("could not reach remote.it (connection refused)")
        return disconnect(connection_id, service_id)

    monkeypatch.setattr(world.client, "disconnect", failing)

    callback.v2_playbook_on_stats(None)

    assert recorded(world) == [stuck["id"]] and live(world) == [stuck["id"]]
    assert callback._display.warnings == [
        "community.remoteit.close_opened: could not close the proxy %s (service %s) this run opened: could not reach "
        "remote.it (connection refused); its record stays in %s for the next try"
        % (stuck["id"], stuck["service_id"], world.store.path)]
    assert closing["id"] in callback._display.verbose[0]


@pytest.mark.parametrize("failure", [
    AuthError("remote.it refused the access key AKTEST"),
    RuntimeError("unexpected"),
    KeyboardInterrupt(),
])
def test_any_failure_is_a_warning_without_the_secret_never_a_traceback(world, monkeypatch, failure):
    callback = world.load_callback()
    world.manager().open(target("01"), LATCHING)

    def build_client(options, sources, warn):
        raise failure

    monkeypatch.setattr(sys.modules[type(callback).__module__], "build_client", build_client)
    callback.v2_playbook_on_stats(None)

    (warning,) = callback._display.warnings
    assert warning.startswith("community.remoteit.close_opened: ")
    assert "were not closed" in warning or "interrupted while closing" in warning
    assert SECRET not in warning and len(recorded(world)) == 1


def test_proxies_opened_through_another_api_endpoint_are_named_not_closed(world, monkeypatch):
    callback = world.load_callback()
    world.manager().open(target("01"), LATCHING)
    monkeypatch.setattr(world.client, "api_url", "https://other.example/graphql/v1")

    callback.v2_playbook_on_stats(None)

    assert world.client.count("disconnect") == 0 and len(recorded(world)) == 1
    assert callback._display.warnings == [
        "community.remoteit.close_opened: left open 1 proxy(ies) this run opened through another API endpoint than "
        "https://other.example/graphql/v1 (%s): this callback closes those of its api_url only" % FakeClient.api_url]


def test_the_run_closes_once_at_its_end_and_an_interrupted_run_as_it_exits(world, monkeypatch):
    registered = []
    monkeypatch.setattr(sys.modules[type(world.load_callback()).__module__].atexit, "register", registered.append)
    ended = world.load_callback()
    ended.v2_playbook_on_start(None)
    ended.v2_playbook_on_start(None)  # a second playbook of the same run
    world.manager().open(target("01"), LATCHING)
    ended.v2_playbook_on_stats(None)
    world.manager().open(target("02"), LATCHING)  # the run is over: a later proxy is no longer its to close
    for handler in registered:
        handler()
    assert len(registered) == 1 and world.client.count("disconnect") == 1

    monkeypatch.delenv(_lifecycle.RUN_ID_VARIABLE)  # the next run is another controller process
    interrupted = world.load_callback()
    interrupted.v2_playbook_on_start(None)
    world.manager().open(target("03"), LATCHING)
    registered[-1]()
    assert world.client.count("disconnect") == 2


def test_a_forked_worker_that_exits_closes_nothing(world, monkeypatch):
    callback = world.load_callback()
    world.manager().open(target("01"), LATCHING)
    monkeypatch.setattr(callback, "_controller", os.getpid() + 1)
    callback._exiting()
    assert world.client.count("disconnect") == 0


def test_workers_inherit_the_run_id_of_the_controller_that_loaded_the_callback(world):
    callback = world.load_callback()
    receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)
    worker = multiprocessing.get_context("fork").Process(target=lambda: sending.send(_lifecycle.run_id()))
    worker.start()  # a worker, as ansible-core forks it
    in_worker = receiving.recv()
    worker.join()
    assert in_worker == callback.run_id == os.environ[_lifecycle.RUN_ID_VARIABLE]
    assert callback.run_id.startswith("%d-" % os.getpid())


def test_a_run_id_made_elsewhere_or_malformed_is_replaced(monkeypatch):
    parents = "%d-%s" % (os.getppid(), "a" * 32)
    monkeypatch.setenv(_lifecycle.RUN_ID_VARIABLE, parents)
    fresh = _lifecycle.run_id()  # an ansible-playbook that its parent's lookup started: no multiprocessing child
    assert fresh != parents and fresh.startswith("%d-" % os.getpid())
    monkeypatch.setenv(_lifecycle.RUN_ID_VARIABLE, parents)
    monkeypatch.setattr(_lifecycle.multiprocessing, "parent_process", object)
    assert _lifecycle.run_id() == parents  # a worker of that controller
    fresh = _lifecycle.run_id(inherited=False)  # a controller that a task of another run started
    assert fresh != parents and fresh.startswith("%d-" % os.getpid())
    for value in ("1-%s" % ("a" * 32), "%d-not-hex" % os.getpid(), "%d-%s; x" % (os.getpid(), "a" * 32)):
        monkeypatch.setenv(_lifecycle.RUN_ID_VARIABLE, value)
        assert _untrusted.RUN_ID_RE.match(_lifecycle.run_id()) and _lifecycle.run_id() != value


def test_a_record_with_a_run_id_that_is_not_one_is_refused():
    record = {"id": "conn-1", "service_id": "80:00:00:00:01:00:00:01", "host_ip": LATCHING, "reverse_proxy": False,
              "host": "proxy.example", "port": 33000}
    assert _untrusted.record(dict(record, run_id="%d-%s" % (os.getpid(), "a" * 32)))
    assert _untrusted.record(dict(record))  # a record of an older version
    with pytest.raises(ValueError, match="run_id: .* is not a run id"):
        _untrusted.record(dict(record, run_id="$(reboot)"))


def test_the_callback_reads_the_shared_options_from_the_environment_and_ansible_cfg():
    callback = callback_loader.get(NAME)
    definitions = C.config.get_configuration_definitions(callback.plugin_type, callback._load_name)
    problems = []
    for name, (kind, default, env) in CONNECTION_OPTIONS.items():
        definition = definitions.get(name) or {}
        declared = (definition.get("type", "str"), definition.get("default"),
                    [entry["name"] for entry in definition.get("env") or []],
                    [(entry["section"], entry["key"]) for entry in definition.get("ini") or []])
        expected = (kind, default, [env] if env else [], [("remoteit", name)])
        if declared != expected:
            problems.append("%s: %r, expected %r" % (name, declared, expected))
    assert not problems, "\n".join(problems)
