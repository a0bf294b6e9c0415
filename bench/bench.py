# Copyright (c) community.remoteit contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: what each task costs, in time and API calls, against baselines measured in the same run.

Everything runs against the sandbox on this machine, in one process tree, so ratios compare like
with like. It prints figures; it asserts nothing.
Usage: python bench/bench.py [--repeat N] [--inventory-python PY] [--only fleet|records|tags] [--fleet-sizes 150,500]
"""

import argparse
import contextlib
import importlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests", "sandbox"), os.path.join(REPO, "tests")]

from remoteit_sandbox import Sandbox, generate_world  # noqa: E402  pylint: disable=wrong-import-position
from utils.connections import read_records, write_records  # noqa: E402  pylint: disable=wrong-import-position
from utils.device import SshDevice  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
SERVICE_ID = "80:00:00:00:01:00:02:01"  # pi-garage/ssh in the demo world
CONNECTION = "community.remoteit.remoteit_connection"
INVENTORY_RUNS = 3


class PlainDumper(yaml.SafeDumper):
    """Writes repeated tasks out in full rather than as YAML aliases."""

    def ignore_aliases(self, data):
        return True


class Bench:
    def __init__(self, sandbox, workdir, repeat):
        self.sandbox = sandbox
        self.workdir = workdir
        self.repeat = repeat
        key_id, secret = sandbox.credentials
        self.env = dict(os.environ, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret, REMOTEIT_API_URL=sandbox.url,
                        REMOTEIT_CONNECTIONS_FILE=os.path.join(workdir, "connections.json"),
                        REMOTEIT_CREDENTIALS_FILE=os.path.join(workdir, "none"),
                        ANSIBLE_CALLBACK_PLUGINS=os.path.join(REPO, "bench", "callback_plugins"),
                        ANSIBLE_CALLBACKS_ENABLED="task_timings", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal",
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_RETRY_FILES_ENABLED="False")

    def playbook(self, tasks, hosts="localhost", inventory=None, forks=5, env=None):
        """Run a one-play playbook; returns (per-task seconds, wall seconds).

        Without an inventory the play runs on localhost, connection local; an inventory says how to connect.
        """
        path = os.path.join(self.workdir, "bench.yml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.dump([{"name": "bench", "hosts": hosts, "gather_facts": False, "tasks": tasks}], handle,
                      Dumper=PlainDumper)
        timings = os.path.join(self.workdir, "timings.json")
        command = [os.path.join(BIN, "ansible-playbook"), path, "--forks", str(forks)]
        command += ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
        started = time.perf_counter()
        result = subprocess.run(command, env=dict(self.env, BENCH_TIMINGS_FILE=timings, **(env or {})),
                                capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if result.returncode:
            failures = [line for line in result.stdout.splitlines() if line.startswith(("fatal:", "failed:"))]
            recap = result.stdout[result.stdout.rfind("PLAY RECAP"):] if "PLAY RECAP" in result.stdout else ""
            raise SystemExit("bench playbook failed:\n%s\n%s\n%s"
                             % ("\n".join(failures[:10])[-3000:], recap[-3000:], result.stderr[-3000:]))
        with open(timings, encoding="utf-8") as handle:
            return [item["seconds"] for item in json.load(handle)], wall

    def paired(self, baseline, task, before=()):
        """Medians of a baseline and a task run alternately in one playbook, so both meet the same conditions."""
        seconds, _wall = self.playbook(list(before) + [baseline, task] * (self.repeat + 1))
        pairs = seconds[len(before) + 2:]
        return statistics.median(pairs[0::2]), statistics.median(pairs[1::2])

    def close_recorded(self):
        """Close every connection the connections file records, by its id."""
        path = self.env["REMOTEIT_CONNECTIONS_FILE"]
        if not os.path.exists(path):
            return
        ids = [record["id"] for record in read_records(path) if not record.get("intent")]
        if ids:
            self.playbook([{"name": "close", CONNECTION: {"connection_id": "{{ item }}", "state": "absent"},
                            "loop": ids}])

    def opened_a_minute_ago(self):
        """Age the recorded connections past the time a just-opened proxy is trusted without asking remote.it."""
        path = self.env["REMOTEIT_CONNECTIONS_FILE"]
        records = read_records(path)
        for record in records:
            record["created"] = record["confirmed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        write_records(path, records)

    def confirmed_now(self):
        """remote.it confirmed the recorded connections just now: a reuse needs no API call."""
        path = self.env["REMOTEIT_CONNECTIONS_FILE"]
        records = read_records(path)
        for record in records:
            record["confirmed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_records(path, records)

    def expire_recorded(self):
        """remote.it closes the recorded connections at the end of their lifetime, telling nobody."""
        self.playbook([{"name": "open", CONNECTION: {"service_id": SERVICE_ID}}])
        for record in read_records(self.env["REMOTEIT_CONNECTIONS_FILE"]):
            self.sandbox.backdate(record["id"], 10 ** 6)

    def hand_over(self, path):
        """Move the recorded connections into `path`, as a job's set_stats artifact, and empty the connections file."""
        connections_file = self.env["REMOTEIT_CONNECTIONS_FILE"]
        records = [record for record in read_records(connections_file) if not record.get("intent")]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(records, handle)
        os.remove(connections_file)

    def calls(self, tasks, **kwargs):
        self.sandbox.clear_requests()
        self.playbook(tasks, **kwargs)
        requests = self.sandbox.requests()
        return (sum(1 for entry in requests if entry.get("operation") == "query"),
                sum(1 for entry in requests if entry.get("operation") == "mutation"))


def overhead(bench, rows):
    uri = {"name": "POST", "ansible.builtin.uri": {
        "url": bench.sandbox.url, "method": "POST", "body_format": "json",
        "body": {"query": "{ version }"}, "status_code": [200, 401]}}
    open_new = {"name": "open", CONNECTION: {"service_id": SERVICE_ID, "force": True}}
    reuse = {"name": "reuse", CONNECTION: {"service_id": SERVICE_ID}}
    reuse_by_name = {"name": "reuse by name", CONNECTION: {"device": "pi-garage", "service": "ssh"}}
    set_fact = {"name": "set_fact", "ansible.builtin.set_fact": {"plain": "value"}}
    calls = 10
    lookup_once = "lookup('community.remoteit.remoteit_connection', 'pi-garage/ssh')"
    env_once = "lookup('ansible.builtin.env', 'HOME')"

    def evaluating(expression, times):
        return {"name": "evaluate", "ansible.builtin.set_fact": {"value": "{{ [%s] }}" % ", ".join([expression] * times)},
                "vars": {"plain_var": "x"}}

    uri_s, open_s = bench.paired(uri, open_new)
    set_fact_s, reuse_s = bench.paired(set_fact, reuse, before=[open_new])
    set_fact_2, reuse_name_s = bench.paired(set_fact, reuse_by_name, before=[open_new])
    plain_1, lookup_1 = bench.paired(evaluating("plain_var", 1), evaluating(lookup_once, 1), before=[open_new])
    plain_n, lookup_n = bench.paired(evaluating("plain_var", calls), evaluating(lookup_once, calls), before=[open_new])
    plain_env, env_1 = bench.paired(evaluating("plain_var", 1), evaluating(env_once, 1))
    rows += [
        ("uri POST to the sandbox (baseline)", "%.1f ms" % (uri_s * 1000), "", None),
        ("open a new proxy", "%.1f ms = %.2fx uri" % (open_s * 1000, open_s / uri_s), "<= 1.2x uri",
         open_s / uri_s <= 1.2),
        ("set_fact (baseline)", "%.1f ms" % (set_fact_s * 1000), "", None),
        ("reuse a recorded proxy, by service_id", "%.1f ms = %.2fx set_fact" % (reuse_s * 1000, reuse_s / set_fact_s),
         "<= 1.3x set_fact", reuse_s / set_fact_s <= 1.3),
        ("reuse a recorded proxy, by device/service", "%.1f ms = %.2fx set_fact"
         % (reuse_name_s * 1000, reuse_name_s / set_fact_2), "<= 1.3x set_fact", reuse_name_s / set_fact_2 <= 1.3),
        ("lookup, per call over a plain variable", "%.2f ms" % ((lookup_n - plain_n) / calls * 1000), "<= 5 ms",
         (lookup_n - plain_n) / calls <= 0.005),
        ("lookup, first call of a task (loads the plugin)", "%.1f ms" % ((lookup_1 - plain_1) * 1000), "", None),
        ("(baseline: ansible.builtin.env lookup, first call)", "%.1f ms" % ((env_1 - plain_env) * 1000), "", None),
    ]


def fixed_cost(bench, rows, runs=15):
    """What the collection adds to a whole ansible-playbook run before any work: one reuse task that needs no API
    call (its record was confirmed just before) against one set_fact, run alternately. Wall time and the CPU time of
    the process tree, which a loaded machine disturbs less."""
    bench.playbook([{"name": "open", CONNECTION: {"service_id": SERVICE_ID}}])
    tasks = {"set_fact": {"name": "set_fact", "ansible.builtin.set_fact": {"plain": "value"}},
             "reuse": {"name": "reuse", CONNECTION: {"service_id": SERVICE_ID}}}
    wall = {name: [] for name in tasks}
    cpu = {name: [] for name in tasks}
    for _run in range(runs):
        for name, task in tasks.items():
            bench.confirmed_now()
            bench.sandbox.clear_requests()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall[name].append(bench.playbook([task])[1])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if bench.sandbox.requests():
                raise SystemExit("the reuse run asked remote.it: %s" % bench.sandbox.requests())
    bench.close_recorded()
    extra_wall = statistics.median(wall["reuse"]) - statistics.median(wall["set_fact"])
    extra_cpu = statistics.median(cpu["reuse"]) - statistics.median(cpu["set_fact"])
    rows += [
        ("(baseline: ansible-playbook run with one set_fact)", "%.2f s wall, %.2f s CPU"
         % (statistics.median(wall["set_fact"]), statistics.median(cpu["set_fact"])), "", None),
        ("fixed cost of a run: one reuse task instead of that set_fact", "%+.0f ms wall, %+.0f ms CPU"
         % (extra_wall * 1000, extra_cpu * 1000), "<= 100 ms", extra_wall <= 0.1),
    ]


def api_calls(bench, rows):
    """Queries and mutations per operation, read from the sandbox's request log."""
    by_id = {"name": "open", CONNECTION: {"service_id": SERVICE_ID}}
    by_name = {"name": "open", CONNECTION: {"device": "pi-garage", "service": "ssh"}}
    close = {"name": "close", CONNECTION: {"service_id": SERVICE_ID, "state": "absent"}}
    devices = 7  # the demo world's, all users' together: the most a device-list query could page through
    lost_answer = [{"field": "connect", "drop_response": True}]
    handed_file = os.path.join(bench.workdir, "artifact.json")
    # A job on another machine: the records arrive as extra vars, this machine's connections file is empty.
    by_id_handed = dict(by_id, vars={"remoteit_connections": "{{ lookup('ansible.builtin.file', '%s') | from_json }}"
                                     % handed_file})
    cases = [
        ("open by service_id, nothing recorded", [close], (), by_id, (0, 1)),
        ("open by service_id, recorded one to confirm", bench.opened_a_minute_ago, (), by_id, (1, 0)),
        ("open by service_id, confirmed < 30 s ago", [], (), by_id, (0, 0)),
        ("open by device/service name, nothing recorded", [close], (), by_name, (math.ceil(devices / 1000), 1)),
        ("open by service_id, record handed over by another job", lambda: bench.hand_over(handed_file), (),
         by_id_handed, (1, 0)),
        ("the next task of that job (the record is in its file now)", [], (), by_id_handed, (0, 0)),
        # A record this controller opened is closed at once; one another job handed over, once remote.it says
        # that its session is this user's (never somebody else's).
        ("close a handed-over connection by service_id", [], (), close, (1, 1)),
        ("close one connection by service_id", [by_id], (), close, (0, 1)),
        # remote.it refuses the disconnect, in words nobody can rely on: its sessions say the connection is gone
        ("close a connection remote.it closed meanwhile", bench.expire_recorded, (), close, (1, 1)),
        # the sessions query that finds the orphan, its disconnect, and the connect sent again
        ("open whose connect answer was lost (reconciled)", [close], lost_answer, by_id, (1, 3)),
    ]
    for label, setup, faults, task, target in cases:
        if callable(setup):
            setup()
        elif setup:
            bench.playbook(setup)
        if faults:
            bench.sandbox.add_faults(faults)
        queries, mutations = bench.calls([task])
        rows.append(("API calls: " + label, "%d queries, %d mutations" % (queries, mutations),
                     "%d queries, %d mutations" % target, queries <= target[0] and mutations <= target[1]))


# Builds the inventory in a fresh interpreter and prints how long InventoryManager took and how many hosts it has.
PARSE_SCRIPT = """
import json, os, sys, time
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[os.environ["ANSIBLE_COLLECTIONS_PATH"]])._install()
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
started = time.perf_counter()
inventory = InventoryManager(DataLoader(), sources=[sys.argv[1]])
print(json.dumps({"seconds": time.perf_counter() - started, "hosts": len(inventory.hosts)}))
"""


def inventory_scale(workdir, rows, pythons, size=10000):
    """Building an inventory of `size` devices, cold and from the cache (medians of INVENTORY_RUNS), and baselines.

    Run with each interpreter in `pythons`, since what ansible-core does with each host variable differs by version.
    """
    with Sandbox(world=generate_world(size)) as sandbox:
        bench = Bench(sandbox, workdir, 0)
        config = os.path.join(workdir, "scale.remoteit.yml")
        for python in pythons:
            core = subprocess.run([python, "-c", "from ansible.release import __version__; print(__version__)"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            cache = os.path.join(workdir, "inventory-cache-" + core)
            with open(config, "w", encoding="utf-8") as handle:
                yaml.safe_dump({"plugin": "community.remoteit.remoteit", "cache": True,
                                "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": cache}, handle)
            for label, target_s, target_calls in (("cold", 2.0, 10), ("cached", 0.5, 0)):
                reset = (lambda: shutil.rmtree(cache, ignore_errors=True)) if label == "cold" else None
                seconds, calls, hosts = timed_builds(python, config, bench.env, sandbox, reset)
                rows.append(("inventory of %d devices built, %s, core %s" % (size, label, core),
                             "%.2f s, %d API calls" % (seconds, calls),
                             "<= %.1f s, <= %d calls" % (target_s, target_calls),
                             seconds <= target_s and calls <= target_calls and hosts == {size}))
            static, floor = baseline_inventories(python, config, workdir, bench.env)
            rows.append(("(baseline: the same hosts and vars from a static file, core %s)" % core,
                         "%.2f s" % parse_inventory(python, static, bench.env)["seconds"], "", None))
            floor_env = dict(bench.env, ANSIBLE_INVENTORY_PLUGINS=os.path.join(REPO, "bench", "inventory_plugins"),
                             ANSIBLE_INVENTORY_ENABLED="bench_floor")
            seconds, _calls, _hosts = timed_builds(python, floor, floor_env, sandbox)
            rows.append(("(baseline: a bare plugin setting the same hosts and vars, core %s)" % core,
                         "%.2f s" % seconds, "", None))


def tags_inventory(workdir, rows, size=5000):
    """An inventory of the devices tagged canary in an account of `size` devices (30 of them are canaries), against
    the same account's inventory of every device: devices remote.it answered, hosts, API calls, median seconds."""
    with Sandbox(world=generate_world(size)) as sandbox:
        bench = Bench(sandbox, workdir, 0)
        built = {}
        for label, options in (("tags", {"tags": ["canary"]}), ("all", {})):
            config = os.path.join(workdir, "%s.remoteit.yml" % label)
            with open(config, "w", encoding="utf-8") as handle:
                yaml.safe_dump(dict({"plugin": "community.remoteit.remoteit"}, **options), handle)
            seconds, calls, hosts = timed_builds(sys.executable, config, bench.env, sandbox)
            fetched = sum(entry.get("devices") or 0 for entry in sandbox.requests())
            built[label] = seconds, calls, hosts, fetched
        seconds, calls, hosts, fetched = built["tags"]
        rows.append(("inventory of tags: [canary] over %d devices: devices fetched, hosts, API calls" % size,
                     "%d fetched, %s hosts, %d calls, %.2f s" % (fetched, "/".join(map(str, sorted(hosts))), calls, seconds),
                     "fetched == hosts", hosts == {fetched}))
        all_seconds, all_calls, all_hosts, all_fetched = built["all"]
        rows.append(("(baseline: the whole account, %d devices)" % size,
                     "%d fetched, %s hosts, %d calls, %.2f s" % (all_fetched, "/".join(map(str, sorted(all_hosts))),
                                                                 all_calls, all_seconds), "", None))
        rows.append(("inventory by tag / whole account, time", "%.2fx" % (seconds / all_seconds), "", None))


def timed_builds(python, source, env, sandbox, reset=None):
    """INVENTORY_RUNS builds of `source`, each after `reset`: median seconds, most API calls, and the host counts."""
    runs = []
    for _run in range(INVENTORY_RUNS):
        if reset:
            reset()
        sandbox.clear_requests()
        built = parse_inventory(python, source, env)
        runs.append((built["seconds"], len(sandbox.requests()), built["hosts"]))
    return statistics.median(run[0] for run in runs), max(run[1] for run in runs), {run[2] for run in runs}


def parse_inventory(python, source, env):
    result = subprocess.run([python, "-c", PARSE_SCRIPT, source], env=env, check=True, capture_output=True,
                            text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def baseline_inventories(python, config, workdir, env):
    """The plugin's hosts and vars as a static inventory file, and as the source of the bench_floor plugin."""
    listing = subprocess.run([os.path.join(os.path.dirname(python), "ansible-inventory"), "-i", config, "--list",
                              "--export"], env=env, check=True, capture_output=True, text=True).stdout
    hostvars = json.loads(listing, object_hook=lambda item: item.get("__ansible_unsafe", item))["_meta"]["hostvars"]
    static = os.path.join(workdir, "static.yml")
    with open(static, "w", encoding="utf-8") as handle:
        json.dump({"all": {"hosts": hostvars}}, handle)
    hostvars_file = os.path.join(workdir, "hostvars.json")
    with open(hostvars_file, "w", encoding="utf-8") as handle:
        json.dump(hostvars, handle)
    floor = os.path.join(workdir, "bench.floor.yml")
    with open(floor, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"plugin": "bench_floor", "hostvars_file": hostvars_file}, handle)
    return static, floor


def connection_plugin(workdir, rows, repeat, tasks=20):
    """Tasks on a device through community.remoteit.ssh against ansible.builtin.ssh straight to the same sshd."""
    with SshDevice() as device, Sandbox(env={"DEVICE_SSH_PORT": str(device.port)}) as sandbox:
        bench = Bench(sandbox, workdir, repeat)
        known_hosts = os.path.join(workdir, "known_hosts")
        login = dict(device.ansible_ssh_args(), ansible_ssh_common_args="-o UserKnownHostsFile=%s "
                     "-o StrictHostKeyChecking=accept-new" % known_hosts)
        inventories = {}
        for name, connection in (("direct", {"ansible_connection": "ansible.builtin.ssh", "ansible_host": "127.0.0.1",
                                             "ansible_port": device.port}),
                                 ("plugin", {"ansible_connection": "community.remoteit.ssh"})):
            inventories[name] = os.path.join(workdir, name + ".yml")
            with open(inventories[name], "w", encoding="utf-8") as handle:
                yaml.safe_dump({"all": {"hosts": {"pi-garage": dict(login, **connection)}}}, handle)
        work = [{"name": "ping", "ansible.builtin.ping": {}}] * tasks
        medians, walls = {}, {}
        for _round in range(max(repeat // 5, 1)):
            for name in ("direct", "plugin"):
                if name == "plugin":  # each run opens its proxy first, as a run after a teardown does
                    bench.playbook([{"name": "close", CONNECTION: {"device": "pi-garage", "service": "ssh",
                                                                   "state": "absent"}}])
                seconds, wall = bench.playbook(work, hosts="all", inventory=inventories[name])
                medians.setdefault(name, []).append(statistics.median(seconds[1:]))
                walls.setdefault(name, []).append(wall)
        per_task = {name: statistics.median(values) for name, values in medians.items()}
        whole = {name: statistics.median(values) for name, values in walls.items()}
        bench.playbook([{"name": "close", CONNECTION: {"device": "pi-garage", "service": "ssh", "state": "absent"}}])
    task_ratio = per_task["plugin"] / per_task["direct"]
    run_ratio = whole["plugin"] / whole["direct"]
    rows += [
        ("(baseline: a task over ansible.builtin.ssh straight to the device)", "%.1f ms" % (per_task["direct"] * 1000),
         "", None),
        ("a task through community.remoteit.ssh", "%.1f ms = %.2fx ssh" % (per_task["plugin"] * 1000, task_ratio),
         "<= 1.05x ssh", task_ratio <= 1.05),
        ("(baseline: %d tasks over ansible.builtin.ssh, whole run)" % tasks, "%.2f s" % whole["direct"], "", None),
        ("%d tasks through community.remoteit.ssh, whole run with the first open" % tasks,
         "%.2f s = %.2fx ssh" % (whole["plugin"], run_ratio), "<= 1.15x ssh", run_ratio <= 1.15),
    ]


def first_task(workdir, rows, size=200, latency=0.3, forks=50):
    """Seconds from starting ansible-playbook to its first task, over an inventory of `size` devices with SSH,
    with remote.it answering after `latency` seconds: proxies opened on demand, or while the inventory is built."""
    world = generate_world(size)
    for item in world["users"][0]["devices"]:
        item["state"] = "active"
    started = {}
    with Sandbox(world=world) as sandbox:
        bench = Bench(sandbox, workdir, 0)
        for label, mode in (("on demand", {"connect_mode": "on_demand"}),
                            ("eager, one at a time", {"connect_mode": "eager", "connect_workers": 1}),
                            ("eager, concurrent", {"connect_mode": "eager"})):
            inventory = os.path.join(workdir, "fleet.remoteit.yml")
            with open(inventory, "w", encoding="utf-8") as handle:
                yaml.safe_dump(dict({"plugin": "community.remoteit.remoteit", "connect_service": "ssh"}, **mode), handle)
            sandbox.add_faults([{"field": "*", "delay": latency, "times": 100000}])
            began = time.time()
            bench.playbook([{"name": "first", "ansible.builtin.debug": {"msg": "reached"}}], hosts="remoteit_active",
                           inventory=inventory, forks=forks)
            sandbox.clear_faults()
            with open(os.path.join(workdir, "timings.json"), encoding="utf-8") as handle:
                started[label] = json.load(handle)[0]["started"] - began
            bench.close_recorded()
        left = len(sandbox.proxies())
    ratio = started["on demand"] / started["eager, one at a time"]
    rows.append(("(baseline: first task, %d devices, %d ms API latency, proxies opened one at a time while the "
                 "inventory is built)" % (size, latency * 1000), "%.1f s" % started["eager, one at a time"], "", None))
    rows.append(("first task, the same, proxies opened concurrently while the inventory is built",
                 "%.1f s" % started["eager, concurrent"], "", None))
    rows.append(("first task, the same, proxies opened on demand (forks=%d)" % forks,
                 "%.1f s = %.2fx one at a time, %d proxies left" % (started["on demand"], ratio, left),
                 "<= 0.1x one at a time", ratio <= 0.1 and left == 0))


def fleet(workdir, rows, size=200, forks=50):
    """`size` hosts opening their proxy in one task with `forks` forks."""
    world = generate_world(size)
    for item in world["users"][0]["devices"]:
        item["state"] = "active"
    with Sandbox(world=world) as sandbox:
        bench = Bench(sandbox, workdir, 0)
        inventory = os.path.join(workdir, "fleet.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"fleet": {"hosts": {"device-%05d" % index: None for index in range(1, size + 1)}}}, handle)
        task = {"name": "open", CONNECTION: {"device": "{{ inventory_hostname }}", "service": "ssh"}}
        _seconds, wall = bench.playbook([task], hosts="fleet", inventory=inventory, forks=forks)
        calls = len(sandbox.requests())
        per_service = {}
        for proxy in sandbox.proxies():
            per_service[proxy["service_id"]] = per_service.get(proxy["service_id"], 0) + 1
        duplicates = sum(count - 1 for count in per_service.values())
        rows.append(("%d hosts open with forks=%d" % (size, forks),
                     "%.1f s, %d API calls, %d duplicate proxies" % (wall, calls, duplicates),
                     "0 duplicates", duplicates == 0 and len(per_service) == size))


def plugin_utils(name):
    """A module of the collection's plugin_utils, imported from the collection this checkout is."""
    if os.path.join(REPO, ".cache", "collections") not in sys.path:
        sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))
    return importlib.import_module("ansible_collections.community.remoteit.plugins.plugin_utils." + name)


def connection_store(path):
    """The collection's _connections module, and its ConnectionStore of the file at path, in a private directory."""
    connections = plugin_utils("_connections")
    os.makedirs(os.path.dirname(path), mode=0o700)
    return connections, connections.ConnectionStore(path)


def stored_record(index):
    """A record of an open proxy, as the collection writes it."""
    return {"id": "%08x-0000-4000-8000-000000000000" % index, "session_id": None, "api_url": "https://api.remote.it/graphql/v1",
            "service_id": "80:00:00:00:11:%02X:%02X:01" % divmod(index, 256), "service_name": "ssh",
            "device_id": "80:00:00:00:10:%02X:%02X:01" % divmod(index, 256), "device_name": "device-%05d" % index,
            "host": "127.0.0.1", "port": 30000 + index, "url": "tcp://127.0.0.1:%d" % (30000 + index),
            "reverse_proxy": False, "host_ip": "255.255.255.255", "created": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-01T08:00:00Z", "timeout": 28800, "confirmed_at": None}


def median_ms(action, times):
    durations = []
    for _time in range(times):
        start = time.perf_counter()
        action()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations) * 1000


def records_checks(workdir, rows, size=150, reads=300):
    """What trusting the connections file costs a read: its directory and file checked like ~/.ssh and each of `size`
    records validated, against a plain parse of the same file. A process validates a record as it first reads it;
    its later reads of the file read only what other processes appended since."""
    path = os.path.join(workdir, "records", "connections.json")
    module, store = connection_store(path)
    with store.update() as stored:
        stored.extend(stored_record(index) for index in range(size))

    def first_in_its_process():
        module._JOURNALS.clear()  # pylint: disable=protected-access
        return store.records()

    baseline, first, again = (median_ms(read, reads) for read in (lambda: read_records(path), first_in_its_process,
                                                                  store.records))
    rows.append(("(baseline: plain parse of a connections file of %d records)" % size, "%.2f ms" % baseline, "", None))
    rows.append(("the same read by the collection: file and directory checked, every record validated",
                 "%.2f ms" % first, "", None))
    rows.append(("the same read again in that process, the file unchanged", "%.2f ms" % again, "", None))


def records_of_a_service(workdir, rows, sizes=(10, 1000), reads=100):
    """What a task pays to read the connections file: the records of its service, read first in its process (every
    task runs in a new one), from a journal of N records each confirmed once (2N lines), against the whole file read
    in the same way."""
    medians = {}
    for size in sizes:
        module, store = connection_store(os.path.join(workdir, "service-%d" % size, "connections.json"))
        with store.update() as stored:
            stored.extend(stored_record(index) for index in range(size))
        for index in range(size):
            with store.update([stored_record(index)["service_id"]]) as stored:
                stored[0] = dict(stored[0], confirmed_at="2026-01-01T00:01:00Z")
        service = [stored_record(size // 2)["service_id"]]

        def first_in_its_process(services, module=module, store=store):
            module._JOURNALS.clear()  # pylint: disable=protected-access
            return store.records(services)

        medians[size] = [median_ms(lambda services=services: first_in_its_process(services), reads)
                         for services in (None, service)]
    small, large = sizes
    rows.append(("(baseline: a task's first read of its service's records, a file of %d records)" % small,
                 "%.2f ms" % medians[small][1], "", None))
    rows.append(("the same read, a file of %d records" % large, "%.2f ms = %+.2f ms" % (
        medians[large][1], medians[large][1] - medians[small][1]), "", None))
    rows.append(("(for comparison: the whole file read first in a process, %d and %d records)" % sizes,
                 "%.2f ms, %.2f ms" % (medians[small][0], medians[large][0]), "", None))


def records_change(workdir, rows, sizes=(10, 1000), changes=200):
    """What one change of the connections file costs: an update() of one service's records that puts one record, in a
    file of few records and in one of many. The change appends a line to the journal, whatever the number of
    records."""
    medians = []
    for size in sizes:
        _module, store = connection_store(os.path.join(workdir, "change-%d" % size, "connections.json"))
        with store.update() as stored:
            stored.extend(stored_record(index) for index in range(size))
        moments = iter("2026-01-01T%02d:%02d:00Z" % divmod(minute, 60) for minute in range(changes))

        def confirm_one(store=store, moments=moments):
            with store.update([stored_record(0)["service_id"]]) as stored:
                stored[0] = dict(stored[0], confirmed_at=next(moments))

        medians.append(median_ms(confirm_one, changes))
    ratio = medians[1] / medians[0]
    rows.append(("(baseline: one change of a connections file of %d records: one record of a service put)" % sizes[0],
                 "%.2f ms" % medians[0], "", None))
    rows.append(("the same change in a file of %d records" % sizes[1], "%.2f ms = %.2fx" % (medians[1], ratio),
                 "<= 1.2x", ratio <= 1.2))


def records_rows(rows):
    """The connections file's rows, in a directory of their own."""
    with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir:
        records_checks(workdir, rows)
        records_of_a_service(workdir, rows)
        records_change(workdir, rows)


API_LATENCY = 0.2  # seconds the sandbox waits before each answer in the fleet rows, as remote.it from afar
FLEET_PLAY = [{"name": "raw %d" % number, "ansible.builtin.raw": "true"} for number in range(1, 4)]
ADDRESSES_PER_SSHD = 15  # sshd listens on at most 16 sockets: 127.0.0.1 and these


class FleetSshd(SshDevice):
    """One real sshd standing in for many devices, since hundreds of sshds would crowd two cores.

    It also listens on loopback addresses of its own, so that plain ssh reaches each device at an address of its own:
    ssh keys its ControlMaster by host, port and user, and devices sharing one would make plain ssh unfairly fast.
    It lets in one client key that the whole fleet shares, and takes a fleet's logins at once (MaxStartups).
    """

    def __init__(self, addresses, client_key):
        super().__init__()
        self.addresses = addresses
        self.client_key = client_key

    def _make_keys(self):
        super()._make_keys()
        self.private_key, self.public_key = self.client_key, self.client_key + ".pub"
        shutil.copyfile(self.public_key, self._path("authorized_keys"))

    def _write_config(self):
        super()._write_config()
        with open(self.config_file, "a", encoding="utf-8") as config:
            config.writelines("ListenAddress %s\n" % address for address in self.addresses)
            config.write("MaxStartups 200\n")

    def reboot(self, downtime, offline, online):
        """A reboot as the controller sees it: `offline()`, every session cut, nothing answering for `downtime`
        seconds, then sshd answering again and `online()`."""
        offline()
        self.restart(downtime)
        online()


def host_key_alias(service_id):
    """The name community.remoteit.ssh checks a device's host key under, as the collection names it."""
    return plugin_utils("_records").host_key_alias(service_id)


def client_key(directory):
    path = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench-client-key", "-f", path], check=True,
                   stdin=subprocess.DEVNULL)
    return path


def ssh_login(key, known_hosts, user):
    """Host variables that log in with `key` and check host keys strictly against `known_hosts`."""
    return {"ansible_user": user, "ansible_ssh_private_key_file": key,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % known_hosts}


def write_yaml(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    return path


def ssh_run(bench, tasks, inventory, forks=5):
    """One run with host key checking on and ssh ControlMasters of its own, stopped when it ends: ControlPersist would
    keep them a minute, and the next run would find them and skip what the first paid."""
    control = tempfile.mkdtemp(prefix="cp-", dir=bench.workdir)
    try:
        return bench.playbook(tasks, hosts="all", inventory=inventory, forks=forks,
                              env={"ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_SSH_CONTROL_PATH_DIR": control})
    finally:
        stops = [subprocess.Popen(["ssh", "-o", "ControlPath=" + os.path.join(control, name), "-O", "exit", "master"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name in os.listdir(control)]
        for stop in stops:
            stop.wait()


def fleet_ssh(workdir, rows, size, forks=25):
    """A play of raw tasks over `size` devices, `forks` forks, host keys checked, remote.it answering after
    API_LATENCY: through community.remoteit.ssh from the on-demand inventory with no proxy open (cold), and again
    with every proxy recorded (warm), against plain ansible.builtin.ssh to the same sshds (run before and after,
    averaged) and against the limit, plain ssh plus one API round trip for each batch of `forks` hosts."""
    directory = os.path.join(workdir, "fleet-%d" % size)
    os.makedirs(os.path.join(directory, "group_vars"))
    key = client_key(directory)
    count = math.ceil(size / ADDRESSES_PER_SSHD)
    with contextlib.ExitStack() as stack:
        sshds = [stack.enter_context(FleetSshd(["127.0.%d.%d" % (number, last) for last in range(1, ADDRESSES_PER_SSHD + 1)],
                                               key)) for number in range(1, count + 1)]
        world = generate_world(size)
        known, plain_hosts = [], {}
        for index, device in enumerate(world["users"][0]["devices"]):
            sshd, address = sshds[index % count], sshds[index % count].addresses[index // count]
            service = dict(device["services"][0], target="127.0.0.1:%d" % sshd.port)
            device.update(state="active", services=[service])
            plain_hosts[device["name"]] = {"ansible_host": address, "ansible_port": sshd.port}
            known += ["%s %s\n" % (host_key_alias(service["id"]), sshd.host_public_key),
                      "[%s]:%d %s\n" % (address, sshd.port, sshd.host_public_key)]
        known_hosts = os.path.join(directory, "known_hosts")
        with open(known_hosts, "w", encoding="utf-8") as handle:
            handle.writelines(known)
        write_yaml(os.path.join(directory, "group_vars", "all.yml"), ssh_login(key, known_hosts, sshds[0].user))
        plain = write_yaml(os.path.join(directory, "plain.yml"),
                           {"all": {"hosts": plain_hosts, "vars": {"ansible_connection": "ansible.builtin.ssh"}}})
        plugin = write_yaml(os.path.join(directory, "fleet.remoteit.yml"),
                            {"plugin": "community.remoteit.remoteit", "connect_service": "ssh", "connect_mode": "on_demand"})
        with Sandbox(world=world) as sandbox:
            bench = Bench(sandbox, directory, 0)
            sandbox.add_faults([{"field": "*", "delay": API_LATENCY, "times": 10 ** 6}])
            walls, requests = {}, {}
            for label, inventory in (("plain", plain), ("cold", plugin), ("warm", plugin), ("plain", plain)):
                sandbox.clear_requests()
                walls.setdefault(label, []).append(ssh_run(bench, FLEET_PLAY, inventory, forks)[1])
                requests[label] = len(sandbox.requests())
    plain_s = statistics.mean(walls["plain"])
    limit = plain_s + math.ceil(size / forks) * API_LATENCY
    cold, warm, per_device = walls["cold"][0], walls["warm"][0], requests["cold"] / size
    rows += [
        ("(baseline: %d devices, forks=%d, %d raw tasks over ansible.builtin.ssh, host keys checked)"
         % (size, forks, len(FLEET_PLAY)), "%.1f s (%s)" % (plain_s, ", ".join("%.1f" % wall for wall in walls["plain"])),
         "", None),
        ("(the limit: that + ceil(%d/%d) x %d ms API round trip)" % (size, forks, API_LATENCY * 1000),
         "%.1f s" % limit, "", None),
        ("the same play through community.remoteit.ssh, on-demand inventory, no proxy open (cold)",
         "%.1f s = %.2fx the limit" % (cold, cold / limit), "<= 1.15x the limit", cold / limit <= 1.15),
        ("the same play again, proxies recorded (warm)", "%.1f s = %.2fx ssh, %d API requests"
         % (warm, warm / plain_s, requests["warm"]), "<= 1.05x ssh", warm / plain_s <= 1.05),
        ("API requests per device, cold (the inventory's included)", "%.2f (%d requests)" % (per_device, requests["cold"]),
         "<= 1.05", per_device <= 1.05),
    ]


def reboot(workdir, rows, runs=3, downtime=2.0):
    """ansible.builtin.reboot of one device through community.remoteit.ssh against the same reboot over plain
    ansible.builtin.ssh, medians of `runs` each, alternately. The device is an sshd whose reboot_command asks the
    bench to reboot it: the sandbox marks the device offline (its proxy is kept), sshd and its sessions stop, and
    `downtime` seconds later sshd answers again, with a new boot id, and the device is online."""
    directory = os.path.join(workdir, "reboot")
    os.makedirs(directory)
    boot_id, requested = os.path.join(directory, "boot_id"), os.path.join(directory, "reboot-requested")
    with open(boot_id, "w", encoding="utf-8") as handle:
        handle.write(str(uuid.uuid4()))
    with FleetSshd([], client_key(directory)) as device:
        world = generate_world(1)
        entry = world["users"][0]["devices"][0]
        service = dict(entry["services"][0], target="127.0.0.1:%d" % device.port)
        entry.update(state="active", services=[service])
        known_hosts = os.path.join(directory, "known_hosts")
        with open(known_hosts, "w", encoding="utf-8") as handle:
            handle.write("%s %s\n[127.0.0.1]:%d %s\n" % (host_key_alias(service["id"]), device.host_public_key,
                                                         device.port, device.host_public_key))
        login = dict(ssh_login(device.private_key, known_hosts, device.user),
                     ansible_python_interpreter=device.python_interpreter)
        inventories = {
            "plain": {"ansible_connection": "ansible.builtin.ssh", "ansible_host": "127.0.0.1", "ansible_port": device.port},
            "plugin": {"ansible_connection": "community.remoteit.ssh", "remoteit_service_id": service["id"]},
        }
        for label, connection in inventories.items():
            inventories[label] = write_yaml(os.path.join(directory, label + ".yml"),
                                            {"all": {"hosts": {entry["name"]: dict(login, **connection)}}})
        tasks = [{"name": "reach", "ansible.builtin.raw": "true"},
                 {"name": "reboot", "ansible.builtin.reboot": {"reboot_command": "/usr/bin/touch " + requested,
                                                               "boot_time_command": "cat " + boot_id}}]

        def offline():
            sandbox.set_device_state(entry["name"], "inactive")
            with open(boot_id, "w", encoding="utf-8") as handle:
                handle.write(str(uuid.uuid4()))

        def watch():
            while not stopped.wait(0.05):
                if os.path.exists(requested):
                    os.remove(requested)
                    device.reboot(downtime, offline, lambda: sandbox.set_device_state(entry["name"], "active"))

        with Sandbox(world=world) as sandbox:
            bench = Bench(sandbox, directory, 0)
            sandbox.add_faults([{"field": "*", "delay": API_LATENCY, "times": 10 ** 6}])
            stopped = threading.Event()
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            seconds = {}
            try:
                for _run in range(runs):
                    for label, inventory in inventories.items():
                        seconds.setdefault(label, []).append(ssh_run(bench, tasks, inventory)[0][1])
            finally:
                stopped.set()
                watcher.join()
    plain_s, plugin_s = statistics.median(seconds["plain"]), statistics.median(seconds["plugin"])
    rows += [
        ("(baseline: ansible.builtin.reboot over ansible.builtin.ssh, device down %.0f s)" % downtime,
         "%.1f s (%s)" % (plain_s, ", ".join("%.1f" % value for value in seconds["plain"])), "", None),
        ("the same reboot through community.remoteit.ssh, proxy kept while offline",
         "%.1f s = %.2fx ssh (%s)" % (plugin_s, plugin_s / plain_s, ", ".join("%.1f" % value for value in seconds["plugin"])),
         "", None),
    ]


def fleet_rows(rows, sizes):
    """The fleet rows and the reboot, each size in a directory of its own; says on stderr how long each took."""
    with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir:
        for size in sizes:
            started = time.perf_counter()
            fleet_ssh(workdir, rows, size)
            print("bench: the fleet rows of %d devices took %.0f s" % (size, time.perf_counter() - started),
                  file=sys.stderr, flush=True)
        started = time.perf_counter()
        reboot(workdir, rows)
        print("bench: the reboot rows took %.0f s" % (time.perf_counter() - started), file=sys.stderr, flush=True)


def other_rows(rows, args):
    """Every row but the fleet rows."""
    with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir, Sandbox() as sandbox:
        bench = Bench(sandbox, workdir, args.repeat)
        overhead(bench, rows)
        fixed_cost(bench, rows)
        api_calls(bench, rows)
    records_rows(rows)
    with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir:
        connection_plugin(workdir, rows, args.repeat)
        first_task(workdir, rows)
    with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir:
        inventory_scale(workdir, rows, args.inventory_python)
        tags_inventory(workdir, rows)
        fleet(workdir, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15, help="copies of each timed task (default 15)")
    parser.add_argument("--inventory-python", action="append", default=[sys.executable], metavar="PYTHON",
                        help="also build the large inventory with this interpreter's ansible-core (repeatable)")
    parser.add_argument("--only", choices=["fleet", "records", "tags"],
                        help="run only these rows: fleet = SSH to a fleet of devices, cold, warm and plain, and a reboot; "
                             "records = the connections file's, a read and a change; tags = an inventory by tag")
    parser.add_argument("--fleet-sizes", default="150,500", metavar="N,N",
                        help="devices in the fleet rows (default 150,500)")
    args = parser.parse_args()
    rows = []
    if args.only is None:
        other_rows(rows, args)
    if args.only == "records":
        records_rows(rows)
    elif args.only == "tags":
        with tempfile.TemporaryDirectory(prefix="remoteit-bench-") as workdir:
            tags_inventory(workdir, rows)
    else:
        fleet_rows(rows, [int(size) for size in args.fleet_sizes.split(",")])
    table = [("figure", "value", "target", "met")]
    table += [(figure, value, target, "" if met is None else ("yes" if met else "NO"))
              for figure, value, target, met in rows]
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths + [0])).rstrip())


if __name__ == "__main__":
    main()
