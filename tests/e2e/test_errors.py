"""Bad input gets a clear message: no traceback, no secret, and nothing left open on remote.it."""

import json
import os

import pytest

MODULE = "community.remoteit.remoteit_connection"


@pytest.fixture
def run_module(run_ansible, ansible_env):
    """Run remoteit_connection ad hoc on localhost with the sandbox environment; returns its output."""

    def run(args, *options, env=None):
        result = run_ansible("localhost", "-m", MODULE, "-a", args, *options, check=False,
                             env=dict(ansible_env, **(env or {})))
        return result.returncode, result.stdout + result.stderr

    return run


@pytest.mark.parametrize("args, expected", [
    ("service_id=80:00:00:zz", "is not a remote.it service id"),
    ("device=toaster service=ssh", "no device named 'toaster'; your devices: "),
    ("device=kiosk-lobby service=ssh", "device name 'kiosk-lobby' is ambiguous: 2 devices match"),
    ("device=pi-kitchen service=vnc", "device 'pi-kitchen' has no service named 'vnc'; its services: ssh, web"),
    ("device=pi-kitchen/ssh", "DEVICE/SERVICE is the lookup's syntax: the modules take the service as an option of "
                              "its own (use device: pi-kitchen and service: ssh)"),
    ("device=pi-kitchen", "device 'pi-kitchen' has 2 services (ssh, web): choose one with service"),
    ("device=gateway-01 service=ssh", "device 'gateway-01' is offline"),
    ("device=pi-garage service=ssh host_ip=10.0.0.0/8", "host_ip '10.0.0.0/8' is not valid"),
    ("device=pi-garage service_id=80:00:00:00:01:00:00:01", "mutually exclusive"),
    ("state=absent", "state=absent needs connection_id, service_id, or device"),
    # wrong types, empty strings, unicode, huge values, unknown options
    # (ansible-core words type errors differently across versions; the argument's name is in both)
    ("device=pi-garage retries=abc", "argument 'retries' is of type"),
    ("device=pi-garage wait=perhaps", "argument 'wait' is of type"),
    ("device=pi-garage state=maybe", "value of state must be one of: present, absent, got: maybe"),
    ("device=pi-garage colour=red", "Unsupported parameters for"),
    ("service_id=''", "select the service with service_id, or with device (and service)"),
    ("device=''", "select the service with service_id, or with device (and service)"),
    ("device=pi-garage service=''", "device 'pi-garage' has no service named ''; its services: ssh"),
    ("device=pi-garage host_ip=''", "host_ip '' is not valid"),
    ("device=café-ünïcode-📟 service=ssh", "no device named 'café-ünïcode-📟'; your devices: "),
    ("service_id=" + "80:" * 4000, "...(12000 characters) is not a remote.it service id"),
    ("device=pi-garage request_timeout=0", "request_timeout must be a positive number of seconds"),
    ("device=pi-garage retries=-1", "retries must be 0 or more"),
    ("device=pi-garage host_ip=999.1.1.1", "host_ip '999.1.1.1' is not valid"),
])
def test_bad_input_fails_cleanly(run_module, clean_sandbox, args, expected):
    returncode, output = run_module(args)
    assert returncode != 0
    assert expected in output
    assert "Traceback" not in output
    assert clean_sandbox.proxies() == []


def test_missing_credentials_say_where_they_were_looked_for(run_module, clean_sandbox, tmp_path):
    missing = str(tmp_path / "no-such-credentials")
    returncode, output = run_module("device=pi-garage service=ssh",
                                    env={"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "",
                                         "REMOTEIT_CREDENTIALS_FILE": missing})
    assert returncode != 0
    for place in ("R3_ACCESS_KEY_ID", "R3_SECRET_ACCESS_KEY", missing):
        assert place in output
    assert clean_sandbox.requests() == []


@pytest.mark.parametrize("key_id, secret", [
    (None, "d3Jvbmctc2VjcmV0LWtleQ=="),  # right key id, wrong secret: bad signature
    ("AKUNKNOWN", None),  # a key id the API does not know
])
def test_rejected_credentials_mention_clock_skew_and_hide_the_secret(run_module, clean_sandbox, key_id, secret):
    real_key_id, real_secret = clean_sandbox.credentials
    env = {"R3_ACCESS_KEY_ID": key_id or real_key_id, "R3_SECRET_ACCESS_KEY": secret or real_secret}
    returncode, output = run_module("device=pi-garage service=ssh", "-vvvv", env=env)
    assert returncode != 0
    assert "rejected the request signature" in output and "clock" in output
    assert env["R3_SECRET_ACCESS_KEY"] not in output
    assert clean_sandbox.proxies() == []


def test_credentials_come_from_a_profile_of_the_credentials_file(run_module, clean_sandbox, tmp_path):
    key_id, secret = clean_sandbox.credentials
    credentials = tmp_path / "credentials"
    credentials.write_text("[DEFAULT]\nR3_ACCESS_KEY_ID=AKOTHER\nR3_SECRET_ACCESS_KEY=b3RoZXI=\n"
                           "[Sandbox]\nR3_ACCESS_KEY_ID=%s\nR3_SECRET_ACCESS_KEY=%s\n" % (key_id, secret))
    env = {"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "", "REMOTEIT_CREDENTIALS_FILE": str(credentials)}
    returncode, output = run_module("device=pi-garage service=ssh state=absent profile=sandbox", env=env)
    assert returncode == 0, output
    returncode, output = run_module("device=pi-garage service=ssh state=absent", env=env)
    assert returncode != 0 and "rejected the request signature for access key id 'AKOTHER'" in output


def without_spaces(text):
    """Text to compare with a warning that ansible-core 2.16 wraps to the terminal's width, even inside a path."""
    return "".join(text.split())


def result_of(output):
    """The JSON result ad-hoc `ansible` printed after "localhost | FAILED! =>" (or SUCCESS)."""
    return json.loads(output[output.index(" => {") + 4:output.rindex("}") + 1])


def test_rejected_task_options_say_the_key_came_from_the_task(run_module, clean_sandbox):
    key_id, _secret = clean_sandbox.credentials
    returncode, output = run_module("device=pi-garage service=ssh access_key_id=%s secret_access_key=d3Jvbmctc2VjcmV0"
                                    % key_id, env={"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": ""})
    assert returncode != 0
    assert "rejected the request signature for access key id %r (HTTP 40" % key_id in output
    assert ("): the access key id and secret came from the task options (access_key_id, secret_access_key). Check "
            "that key pair there, and this machine's clock") in output
    assert "R3_ACCESS_KEY_ID" not in output and "d3Jvbmctc2VjcmV0" not in output


def test_a_profile_that_does_not_exist_lists_the_profiles_that_do(run_module, clean_sandbox, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\nR3_ACCESS_KEY_ID=AKOTHER\nR3_SECRET_ACCESS_KEY=b3RoZXI=\n[sandbox]\n")
    env = {"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "", "REMOTEIT_CREDENTIALS_FILE": str(credentials),
           "REMOTEIT_PROFILE": "fleet"}
    returncode, output = run_module("device=pi-garage service=ssh", env=env)
    assert returncode != 0
    assert "%s, which has no profile 'fleet' (its profiles: default, sandbox)" % credentials in output
    assert clean_sandbox.requests() == []


def test_a_quoted_key_in_a_readable_credentials_file_works_with_a_warning(run_module, clean_sandbox, tmp_path):
    key_id, secret = clean_sandbox.credentials
    credentials = tmp_path / "credentials"
    credentials.write_text('[default]\nR3_ACCESS_KEY_ID="%s"\nR3_SECRET_ACCESS_KEY="%s"\n' % (key_id, secret))
    os.chmod(credentials, 0o644)
    env = {"R3_ACCESS_KEY_ID": "", "R3_SECRET_ACCESS_KEY": "", "REMOTEIT_CREDENTIALS_FILE": str(credentials)}
    returncode, output = run_module("device=pi-garage service=ssh state=absent", env=env)
    assert returncode == 0, output
    assert without_spaces("the remote.it credentials file %s is readable by other users (mode 0644): chmod 600 %s"
                          % (credentials, credentials)) in without_spaces(output)


def test_an_api_url_without_the_graphql_path_names_it(run_module, clean_sandbox):
    returncode, output = run_module("device=pi-garage service=ssh", env={"REMOTEIT_API_URL": clean_sandbox.base_url})
    assert returncode != 0
    result = result_of(output)
    assert result["msg"].startswith("there is no remote.it API at %s (HTTP 404 Not Found): api_url must be the full "
                                    "URL of the GraphQL endpoint, whose path is /graphql/v1" % clean_sandbox.base_url)
    assert result["error"]["kind"] == "endpoint"


def test_an_api_url_with_a_trailing_slash_works(run_module, clean_sandbox):
    returncode, output = run_module("device=pi-garage service=ssh state=absent",
                                    env={"REMOTEIT_API_URL": clean_sandbox.url + "/"})
    assert returncode == 0, output


def test_an_api_url_without_a_scheme_fails_at_once(run_module, clean_sandbox):
    url = clean_sandbox.url.partition("://")[2]
    returncode, output = run_module("device=pi-garage service=ssh", env={"REMOTEIT_API_URL": url})
    assert returncode != 0
    result = result_of(output)
    assert result["msg"].startswith("api_url %r is not an http:// or https:// URL" % url)
    assert result["error"]["kind"] == "invalid_input"
    assert clean_sandbox.requests() == []


def test_missing_credentials_in_a_lookup_name_the_places_it_reads(run_ansible, ansible_env, clean_sandbox):
    env = dict(ansible_env, R3_ACCESS_KEY_ID="", R3_SECRET_ACCESS_KEY="")
    result = run_ansible("localhost", "-m", "ansible.builtin.debug", "-a",
                         "msg={{ lookup('community.remoteit.remoteit_connection', 'pi-garage/ssh') }}",
                         check=False, env=env)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert ("Looked in: the lookup's keywords (access_key_id, secret_access_key), the variables "
            "(remoteit_access_key_id, remoteit_secret_access_key), the environment (R3_ACCESS_KEY_ID, "
            "R3_SECRET_ACCESS_KEY), the [remoteit] section of ansible.cfg (access_key_id, secret_access_key) and the "
            "credentials file %s (no such file)" % env["REMOTEIT_CREDENTIALS_FILE"]) in output
    assert "task options" not in output
