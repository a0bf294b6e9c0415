"""The inventory plugin: devices as hosts, constructed groups and vars, proxies on demand or eagerly, caching."""

import json

import pytest
import yaml
from conftest import DEMO_WORLD
from utils.connections import read_records


@pytest.fixture
def inventory_file(tmp_path, device):
    """write(**options) -> path of a devices.remoteit.yml using the sandbox through the environment."""

    def write(**options):
        config = {"plugin": "community.remoteit.remoteit",
                  "compose": {"ansible_user": repr(device.user),
                              "ansible_ssh_private_key_file": repr(device.private_key),
                              "ansible_python_interpreter": repr(device.python_interpreter),
                              "ansible_ssh_common_args": repr(device.ansible_ssh_args()["ansible_ssh_common_args"]),
                              "service_count": "remoteit_services | length"},
                  "keyed_groups": [{"key": "remoteit_services | map(attribute='name') | list", "prefix": "service"}],
                  "groups": {"kiosks": "remoteit_device_name is match('(?i)kiosk-')"}}
        config.update(options)
        path = tmp_path / "devices.remoteit.yml"
        path.write_text(yaml.safe_dump(config))
        return str(path)

    return write


@pytest.fixture
def inventory_list(ansible_env, tmp_path):
    from conftest import ansible_bin, run_command

    def run(path, check=True, env=None):
        result = run_command([ansible_bin("ansible-inventory"), "-i", path, "--list"],
                             dict(ansible_env, **(env or {})), check=check, cwd=tmp_path)
        return result if not check else json.loads(result.stdout)

    return run


def plain(value):
    """A value as ansible-inventory prints it, without the marker some cores put on unsafe strings."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def close_recorded(run_ansible, ansible_env, tmp_path):
    """Close every connection the inventory recorded, as a user would with the module."""
    path = tmp_path / "connections.json"
    for record in read_records(path) if path.exists() else []:
        run_ansible("localhost", "-m", "community.remoteit.remoteit_connection",
                    "-a", "connection_id=%s state=absent" % record["id"], env=ansible_env)


def device_list_calls(sandbox):
    """Requests that page through devices (the sessions query has no paging variables)."""
    return [entry for entry in sandbox.requests() if "size" in (entry.get("variables") or {})]


@pytest.mark.every_core
def test_devices_become_hosts_with_groups_and_composed_vars(inventory_list, inventory_file, clean_sandbox):
    listing = inventory_list(inventory_file())
    hostvars = listing["_meta"]["hostvars"]
    assert set(hostvars) == {"pi-kitchen", "pi-garage", "gateway-01", "kiosk-lobby", "KIOSK-LOBBY"}
    assert sorted(listing["remoteit_inactive"]["hosts"]) == ["gateway-01"]
    assert sorted(listing["kiosks"]["hosts"]) == ["KIOSK-LOBBY", "kiosk-lobby"]
    assert "pi-kitchen" in listing["service_web"]["hosts"]
    kitchen = hostvars["pi-kitchen"]
    assert plain(kitchen["remoteit_device_id"]) == "80:00:00:00:01:00:00:01"
    assert plain(kitchen["remoteit_state"]) == "active" and int(plain(kitchen["service_count"])) == 2
    assert "ansible_host" not in kitchen
    assert clean_sandbox.proxies() == []


ACTIVE_SSH_HOSTS = {"pi-kitchen": "80:00:00:00:01:00:00:01", "pi-garage": "80:00:00:00:01:00:00:02",
                    "kiosk-lobby": "80:00:00:00:01:00:00:04", "KIOSK-LOBBY": "80:00:00:00:01:00:00:05"}
SSH_SERVICE_IDS = {"pi-kitchen": "80:00:00:00:01:00:01:01", "pi-garage": "80:00:00:00:01:00:02:01",
                   "kiosk-lobby": "80:00:00:00:01:00:04:01", "KIOSK-LOBBY": "80:00:00:00:01:00:05:01"}


def mutations(sandbox):
    return [entry["fields"][0] for entry in sandbox.requests() if entry["operation"] == "mutation"]


def plugin_requests(sandbox):
    """The fields of each request but the inventory's device list: those the connection plugin sent."""
    listing = device_list_calls(sandbox)
    return [field for entry in sandbox.requests() if entry not in listing for field in entry["fields"]]


@pytest.mark.every_core
def test_on_demand_inventory_opens_nothing_and_hands_hosts_to_the_connection_plugin(
        inventory_list, inventory_file, clean_sandbox, tmp_path):
    listing = inventory_list(inventory_file(connect_service="ssh"))
    hostvars = listing["_meta"]["hostvars"]
    for host, device_id in ACTIVE_SSH_HOSTS.items():
        assert plain(hostvars[host]["ansible_connection"]) == "community.remoteit.ssh"
        assert plain(hostvars[host]["remoteit_service"]) == "ssh"
        assert plain(hostvars[host]["remoteit_device"]) == device_id
        assert {name: plain(value) for name, value in plain(hostvars[host]["remoteit_inventory_selection"]).items()} == {
            "device": device_id, "service": "ssh", "service_id": SSH_SERVICE_IDS[host]}
        assert "ansible_host" not in hostvars[host] and "ansible_port" not in hostvars[host]
    # to say it is offline, naming the device: the plugin looks it up
    assert plain(hostvars["gateway-01"]["ansible_connection"]) == "community.remoteit.ssh"
    assert "remoteit_inventory_selection" not in hostvars["gateway-01"]
    assert mutations(clean_sandbox) == []
    assert [entry for entry in clean_sandbox.requests() if "sessions" in entry["fields"]] == []
    assert clean_sandbox.proxies() == []
    assert not (tmp_path / "connections.json").exists()


def test_on_demand_opens_only_the_proxies_a_play_uses_and_reuses_them(
        run_ansible, inventory_file, ansible_env, clean_sandbox, tmp_path):
    """Needs the connection plugin community.remoteit.ssh. The inventory file's api_url and connections_file reach
    it as host variables: the environment points elsewhere."""
    path = inventory_file(connect_service="ssh", api_url=clean_sandbox.url,
                          connections_file=str(tmp_path / "connections.json"))
    elsewhere = dict(ansible_env, REMOTEIT_API_URL="http://127.0.0.1:9/graphql/v1",
                     REMOTEIT_CONNECTIONS_FILE=str(tmp_path / "elsewhere.json"))
    try:
        limited = run_ansible("remoteit_active", "-m", "ansible.builtin.ping", "-i", path, "--limit", "pi-garage",
                              env=elsewhere)
        assert limited.stdout.count("SUCCESS") == 1
        assert [proxy["service_id"] for proxy in clean_sandbox.proxies()] == ["80:00:00:00:01:00:02:01"]
        assert plugin_requests(clean_sandbox) == ["connect"], "a cold open costs one request, no device lookup"
        clean_sandbox.clear_requests()
        result = run_ansible("remoteit_active", "-m", "ansible.builtin.ping", "-i", path, env=elsewhere)
        assert result.stdout.count("SUCCESS") == 4, result.stdout
        assert plugin_requests(clean_sandbox) == ["connect"] * 3, "pi-garage's recorded proxy costs no request"
        assert len(clean_sandbox.proxies()) == 4
        again = run_ansible("remoteit_active", "-m", "ansible.builtin.ping", "-i", path, env=elsewhere)
        assert again.stdout.count("SUCCESS") == 4
        assert mutations(clean_sandbox) == ["connect"] * 3, "the second run reuses the recorded proxies"
        assert not (tmp_path / "elsewhere.json").exists()
    finally:
        close_recorded(run_ansible, ansible_env, tmp_path)
    assert clean_sandbox.proxies() == []


@pytest.mark.every_core
def test_eager_inventory_points_hosts_at_proxies_it_opens_concurrently(
        run_ansible, inventory_file, inventory_list, ansible_env, clean_sandbox, tmp_path):
    path = inventory_file(connect_service="ssh", connect_mode="eager", connect_workers=2)
    try:
        hostvars = inventory_list(path)["_meta"]["hostvars"]
        proxies = {proxy["service_id"]: proxy for proxy in clean_sandbox.proxies()}
        assert len(proxies) == 4 and mutations(clean_sandbox) == ["connect"] * 4
        for host in ACTIVE_SSH_HOSTS:
            connection = hostvars[host]["remoteit_connection"]
            assert (plain(hostvars[host]["ansible_host"]), hostvars[host]["ansible_port"]) == (
                plain(connection["host"]), connection["port"])
            assert connection["port"] == proxies[plain(connection["service_id"])]["port"]
            assert "ansible_connection" not in hostvars[host]
        assert "ansible_host" not in hostvars["gateway-01"]
        result = run_ansible("remoteit_active", "-m", "ansible.builtin.ping", "-i", path, env=ansible_env)
        assert result.stdout.count("SUCCESS") == 4
        assert mutations(clean_sandbox) == ["connect"] * 4, "building it again reuses the recorded proxies"
    finally:
        close_recorded(run_ansible, ansible_env, tmp_path)
    assert clean_sandbox.proxies() == []
    assert read_records(tmp_path / "connections.json") == []


@pytest.mark.every_core
def test_cached_inventory_makes_no_device_list_call(inventory_list, inventory_file, clean_sandbox, tmp_path):
    path = inventory_file(cache=True, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    first = inventory_list(path)
    assert len(device_list_calls(clean_sandbox)) == 1
    clean_sandbox.clear_requests()
    second = inventory_list(path)
    assert device_list_calls(clean_sandbox) == []
    assert second == first


def test_a_cache_entry_that_is_not_a_device_list_is_fetched_again(inventory_list, inventory_file, clean_sandbox,
                                                                  tmp_path):
    path = inventory_file(cache=True, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    first = inventory_list(path)
    (entry,) = (tmp_path / "cache").iterdir()
    other_format = [{"id": "80:00:00:00:01:00:00:01"}]  # e.g. written by another version of the plugin
    stored = json.loads(entry.read_text())
    if isinstance(stored, dict):  # ansible-core 2.19+ keeps the value as JSON under __payload__
        stored["__payload__"] = json.dumps(other_format)
    else:
        stored = other_format
    entry.write_text(json.dumps(stored))
    clean_sandbox.clear_requests()
    assert inventory_list(path) == first
    assert len(device_list_calls(clean_sandbox)) == 1


@pytest.mark.every_core
def test_api_strings_are_never_templated(run_ansible, inventory_file, ansible_env, device):
    from remoteit_sandbox import Sandbox

    world = yaml.safe_load(DEMO_WORLD.read_text())
    evil = dict(world["users"][0]["devices"][1], name="evil-{{ 7 * 6 }}")
    evil["services"] = [dict(evil["services"][0], name="ssh-{{ 6 * 7 }}")]
    world["users"][0]["devices"] = [evil]
    with Sandbox(world=world, env={"DEVICE_SSH_PORT": str(device.port)}) as sandbox:
        env = dict(ansible_env, REMOTEIT_API_URL=sandbox.url)
        result = run_ansible("all", "-m", "ansible.builtin.debug",
                             "-a", "msg={{ [remoteit_device_name, remoteit_services[0].name] }}",
                             "-i", inventory_file(), env=env)
    assert result.stdout.startswith("evil-___7___6___ | SUCCESS")
    assert '"evil-{{ 7 * 6 }}"' in result.stdout
    assert '"ssh-{{ 6 * 7 }}"' in result.stdout
    assert "42" not in result.stdout


@pytest.mark.every_core
def test_wrong_credentials_fail_the_inventory_clearly(inventory_list, inventory_file, clean_sandbox):
    env = {"R3_SECRET_ACCESS_KEY": "d3Jvbmctc2VjcmV0LWtleQ==", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    result = inventory_list(inventory_file(), check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    said = " ".join(output.split())  # ansible-core 2.16 wraps warnings at 79 columns, wherever the path ends
    assert "rejected the request signature" in said and "clock" in said
    assert "d3Jvbmctc2VjcmV0LWtleQ==" not in output


def test_include_inactive_false_lets_a_play_over_all_reach_every_host(
        run_ansible, inventory_file, inventory_list, ansible_env, clean_sandbox, tmp_path):
    """Needs the connection plugin community.remoteit.ssh (connect_mode on_demand, the default)."""
    path = inventory_file(connect_service="ssh", include_inactive=False)
    assert "gateway-01" not in inventory_list(path)["_meta"]["hostvars"]
    result = run_ansible("all", "-m", "ansible.builtin.ping", "-i", path, check=False, env=ansible_env)
    close_recorded(run_ansible, ansible_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 4 and "UNREACHABLE" not in result.stdout
    assert clean_sandbox.proxies() == []


def test_a_play_over_all_says_which_devices_are_offline(run_ansible, inventory_file, ansible_env, clean_sandbox,
                                                        tmp_path):
    """The first hour: `ansible all -m ping` used to end in "Could not resolve hostname" for inactive devices."""
    result = run_ansible("all", "-m", "ansible.builtin.ping", "-i", inventory_file(connect_service="ssh"),
                         check=False, env=ansible_env)
    close_recorded(run_ansible, ansible_env, tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    unreachable = [line for line in result.stdout.splitlines() if "UNREACHABLE" in line]
    assert len(unreachable) == 1 and unreachable[0].startswith("gateway-01"), result.stdout
    assert "device 'gateway-01' is offline" in result.stdout and "Could not resolve" not in result.stdout
    assert result.stdout.count("SUCCESS") == 4
    assert clean_sandbox.proxies() == []


def test_missing_credentials_name_the_places_the_inventory_reads(inventory_list, inventory_file, ansible_env):
    env = {"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    path = inventory_file()
    result = inventory_list(path, check=False, env=env)
    # ansible-core 2.16 wraps the warning that holds it to the terminal's width, even inside a path.
    output = "".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "".join((
        "Looked in: the inventory file %s (access_key_id, secret_access_key), the environment (R3_ACCESS_KEY_ID, "
        "R3_SECRET_ACCESS_KEY), the [remoteit] section of ansible.cfg (access_key_id, secret_access_key) and the "
        "credentials file %s (no such file)" % (path, ansible_env["REMOTEIT_CREDENTIALS_FILE"])).split()) in output
    assert "taskoptions" not in output and "remoteit_access_key_id" not in output
