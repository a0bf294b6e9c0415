"""Devices by tag: an inventory, remoteit_device_info and the module remoteit_device_tags against the sandbox, under
each answer of the API's unknowns about tags, and with tag names chosen to break things.

Each test has a sandbox of its own (tags change the world), and ends with no proxy live on it.
"""

import json
import re

import pytest
import yaml
from conftest import DEMO_WORLD, ansible_bin, run_command
from remoteit_sandbox import Sandbox
from test_inventory import plain

GARAGE = "80:00:00:00:01:00:00:02"
MUTATIONS = ("setTag", "addTag", "removeTag")

# Each unknown of the API about tags, answered each way that is not the default (tests/sandbox/README.md).
UNKNOWNS = [
    pytest.param({}, id="friendly", marks=pytest.mark.every_core),
    pytest.param({"tags_case_sensitive": False}, id="tags_case_sensitive-false"),
    pytest.param({"add_tag_undefined": "error"}, id="add_tag_undefined-error"),
    pytest.param({"remove_tag_absent": "false"}, id="remove_tag_absent-false"),
    pytest.param({"remove_tag_absent": "error"}, id="remove_tag_absent-error"),
    pytest.param({"tag_device_id": "refused"}, id="tag_device_id-refused"),
]


@pytest.fixture
def own_sandbox(device):
    """start(world=None, **switches) -> a sandbox of the demo world (or `world`) of its own, stopped after the test."""
    started = []

    def start(world=None, **switches):
        sandbox = Sandbox(world=world or str(DEMO_WORLD), env={"DEVICE_SSH_PORT": str(device.port)}, **switches)
        started.append(sandbox.start())
        return sandbox

    yield start
    for sandbox in started:
        assert sandbox.proxies() == [], "a test of tags opened a proxy"
        sandbox.stop()


def env_of(ansible_env, sandbox):
    key_id, secret = sandbox.credentials
    return dict(ansible_env, REMOTEIT_API_URL=sandbox.url, R3_ACCESS_KEY_ID=key_id, R3_SECRET_ACCESS_KEY=secret)


def inventory(tmp_path, env, **options):
    path = tmp_path / "tagged.remoteit.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": "community.remoteit.remoteit"}, **options)))
    listed = run_command([ansible_bin("ansible-inventory"), "-i", path, "--list"], env, cwd=tmp_path)
    return json.loads(listed.stdout)


def device_lists(sandbox):
    """The `tag` filter of each device list remote.it was asked for."""
    return [(entry["variables"] or {}).get("tag") for entry in sandbox.requests() if "size" in (entry["variables"] or {})]


def mutations(sandbox):
    return [field for entry in sandbox.requests() for field in entry["fields"] if field in MUTATIONS]


@pytest.mark.parametrize("case_sensitive", [pytest.param(True, marks=pytest.mark.every_core), False])
def test_an_inventory_by_tag_fetches_only_those_devices_and_makes_a_group_per_tag(
        own_sandbox, ansible_env, tmp_path, case_sensitive):
    sandbox = own_sandbox(tags_case_sensitive=case_sensitive)
    listing = inventory(tmp_path, env_of(ansible_env, sandbox), tags=["KIOSK"],
                        keyed_groups=[{"key": "remoteit_tags", "prefix": "tag"}])
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(hostvars) == ["KIOSK-LOBBY", "kiosk-lobby"], "kiosk and Kiosk are one tag, whatever remote.it thinks"
    assert [plain(tag) for tag in hostvars["KIOSK-LOBBY"]["remoteit_tags"]] == ["Kiosk"]
    assert listing["tag_kiosk"]["hosts"] == ["kiosk-lobby"] and listing["tag_Kiosk"]["hosts"] == ["KIOSK-LOBBY"]
    assert device_lists(sandbox) == [{"operator": "ANY", "values": ["kiosk", "Kiosk"]}], \
        "one device list, of those tags: the account's other devices are never fetched"
    both = inventory(tmp_path, env_of(ansible_env, sandbox), tags=["eu-west", "CANARY"], tags_match="all",
                     include_inactive=False)
    assert sorted(both["_meta"]["hostvars"]) == ["pi-kitchen"]


@pytest.mark.parametrize("switches", UNKNOWNS)
def test_tagging_a_device_is_idempotent_checked_and_read_back_under_every_answer(
        own_sandbox, ansible_env, run_playbook, tmp_path, switches):
    sandbox = own_sandbox(**switches)
    playbook = tmp_path / "tag.yml"
    tag = {"device": "pi-garage", "tags": ["configured", "EU-WEST"]}
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Check mode", "community.remoteit.remoteit_device_tags": tag, "check_mode": True, "register": "checked"},
        {"name": "Tag", "community.remoteit.remoteit_device_tags": tag, "register": "tagged"},
        {"name": "Again", "community.remoteit.remoteit_device_tags": tag, "register": "again"},
        {"name": "List", "community.remoteit.remoteit_device_info": {"tags": ["Configured"]}, "register": "listed"},
        {"name": "Exactly", "community.remoteit.remoteit_device_tags": dict(tag, tags=["line-3"], exclusive=True),
         "register": "exactly"},
        {"name": "Untag", "community.remoteit.remoteit_device_tags": dict(tag, tags=["LINE-3", "never"], state="absent"),
         "register": "untagged"},
        {"ansible.builtin.copy": {"content": "{{ {'checked': checked, 'tagged': tagged, 'again': again, "
                                             "'listed': listed.devices | map(attribute='name') | list, "
                                             "'exactly': exactly, 'untagged': untagged} | to_json }}",
                                  "dest": str(tmp_path / "results.json"), "mode": "0600"}},
    ]}]))
    sandbox.clear_requests()
    run = run_playbook(playbook, "--diff", env=env_of(ansible_env, sandbox))
    results = json.loads((tmp_path / "results.json").read_text())
    checked, tagged, again = results["checked"], results["tagged"], results["again"]
    assert (checked["changed"], checked["added"], tagged["changed"], tagged["added"]) == (
        True, ["configured"], True, ["configured"])
    assert tagged["tags"] == ["eu-west", "configured"] and tagged["diff"]["before"] == {"tags": ["eu-west"]}
    assert (again["changed"], again["added"], "diff" in again) == (False, [], False)
    assert results["listed"] == ["pi-garage"]
    assert (results["exactly"]["tags"], results["exactly"]["removed"]) == (["line-3"], ["eu-west", "configured"])
    assert (results["untagged"]["tags"], results["untagged"]["removed"]) == ([], ["line-3"])
    assert re.search(r'^\+\s+"configured"$', run.stdout, re.MULTILINE), "--diff shows the tag added: " + run.stdout
    refused = 1 if switches.get("tag_device_id") == "refused" else 0
    assert mutations(sandbox) == (["setTag"] + ["addTag"] * (1 + refused)
                                  + ["setTag"] + ["addTag", "removeTag"] * (1 + refused)
                                  + ["removeTag"] * (1 + refused)), \
        "nothing sent in check mode nor for the unchanged device; a refused device id is asked again by service ids"


@pytest.mark.parametrize("name, message", [
    ("pi-attic", "no device named 'pi-attic'; your devices: "),
    ("kiosk-LOBBY", "device name 'kiosk-LOBBY' is ambiguous: 2 devices match"),
])
def test_an_unknown_or_ambiguous_device_fails_as_remoteit_connection_says(
        own_sandbox, ansible_env, run_ansible, name, message):
    env = env_of(ansible_env, own_sandbox())
    tagged = run_ansible("localhost", "-m", "community.remoteit.remoteit_device_tags", "-a",
                         json.dumps({"device": name, "tags": ["x"]}), check=False, env=env)
    opened = run_ansible("localhost", "-m", "community.remoteit.remoteit_connection", "-a",
                         json.dumps({"device": name}), check=False, env=env)
    assert tagged.returncode != 0 and message in tagged.stdout
    assert tagged.stdout.split('"msg": ')[1].splitlines()[0] == opened.stdout.split('"msg": ')[1].splitlines()[0]


HOSTILE_TAG = "{{ lookup('pipe', 'touch %s') }}"
ESCAPE_TAG = "line\x1b]0;owned\x07\nforged: {%% if true %%}%s"


@pytest.mark.every_core
def test_hostile_tag_names_stay_data_in_the_inventory_the_module_and_device_info(
        own_sandbox, ansible_env, run_playbook, tmp_path):
    marker = tmp_path / "pwned"
    world = yaml.safe_load(DEMO_WORLD.read_text())
    garage = next(item for item in world["users"][0]["devices"] if item["name"] == "pi-garage")
    garage["tags"] = [HOSTILE_TAG % marker, ESCAPE_TAG % marker, "long-" + "x" * 10000]
    sandbox = own_sandbox(world)
    env = env_of(ansible_env, sandbox)
    listing = inventory(tmp_path, env, tags=[HOSTILE_TAG % marker],
                        keyed_groups=[{"key": "remoteit_tags", "prefix": "tag"}],
                        compose={"first_tag": "remoteit_tags[0]"})
    assert sorted(listing["_meta"]["hostvars"]) == ["pi-garage"]
    assert plain(listing["_meta"]["hostvars"]["pi-garage"]["first_tag"]) == HOSTILE_TAG % marker
    groups = [name for name in listing if name.startswith("tag_")]
    assert len(groups) == 3 and all(name.replace("_", "").isalnum() for name in groups), groups
    playbook = tmp_path / "hostile.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"community.remoteit.remoteit_device_info": {"name": "pi-garage"}, "register": "listed"},
        {"community.remoteit.remoteit_device_tags": {"device": "pi-garage", "tags": ["configured"]}, "register": "tagged"},
        {"ansible.builtin.set_fact": {"seen": "{{ listed.devices[0].tags + tagged.tags }}"}},
        {"ansible.builtin.debug": {"msg": "{{ seen }}"}},
        {"ansible.builtin.copy": {"content": "{{ seen | to_json }}", "dest": str(tmp_path / "seen.json"), "mode": "0600"}},
    ]}]))
    run_playbook(playbook, env=env)
    assert json.loads((tmp_path / "seen.json").read_text()) == garage["tags"] + garage["tags"] + ["configured"]
    assert not marker.exists(), "a tag name ran as a template"


ORG = "5e1f0a2b-0000-4000-8000-0000000000f1"
DEMO_USER = "5e1f0a2b-0000-4000-8000-000000000001"


def test_an_organisations_devices_are_tagged_and_selected_with_account_id(
        own_sandbox, ansible_env, run_ansible, tmp_path):
    sandbox = own_sandbox(add_tag_undefined="error")
    env = env_of(ansible_env, sandbox)
    tagged = run_ansible("localhost", "-m", "community.remoteit.remoteit_device_tags", "-a",
                         json.dumps({"device": "acme-plc-01", "tags": ["line-3"], "account_id": ORG}), env=env)
    assert '"added": [\n        "line-3"\n    ]' in tagged.stdout
    listing = inventory(tmp_path, env, account_id=ORG, tags=["LINE-3"])
    assert sorted(listing["_meta"]["hostvars"]) == ["acme-plc-01"]
    assert [plain(tag) for tag in listing["_meta"]["hostvars"]["acme-plc-01"]["remoteit_tags"]] == ["plc", "line-3"]
    assert "line-3" in sandbox.world.accounts[ORG].tags and "line-3" not in sandbox.world.accounts[DEMO_USER].tags, \
        "the organisation defines the tag, not the member whose key it is"
