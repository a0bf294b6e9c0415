"""The API over HTTPS with a self-signed certificate: refused by default, trusted when told."""

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from remoteit_sandbox import Sandbox

MODULE = "community.remoteit.remoteit_device_info"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remoteit sandbox")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def https_sandbox(certificate):
    with Sandbox(tls_cert=certificate[0], tls_key=certificate[1]) as sandbox:
        assert sandbox.url.startswith("https://")
        yield sandbox


@pytest.fixture
def list_devices(run_ansible, ansible_env, https_sandbox):
    def run(args="name=pi-garage", **env):
        result = run_ansible("localhost", "-m", MODULE, "-a", args, check=False,
                             env=dict(ansible_env, REMOTEIT_API_URL=https_sandbox.url, **env))
        return result.returncode, result.stdout + result.stderr

    return run


def test_an_untrusted_certificate_is_refused_clearly(list_devices, https_sandbox):
    returncode, output = list_devices()
    assert returncode != 0
    assert "the TLS certificate of %s could not be verified" % https_sandbox.url in output
    assert "certificate verify failed" in output and "Traceback" not in output
    assert ("If a private CA signed it, point the environment variable REQUESTS_CA_BUNDLE at that CA's certificate; "
            "only for a test server you trust, set validate_certs to false instead") in output
    assert https_sandbox.requests() == []


def test_https_to_a_plain_http_server_says_it_does_not_speak_tls(run_ansible, ansible_env, clean_sandbox):
    url = clean_sandbox.url.replace("http://", "https://", 1)
    result = run_ansible("localhost", "-m", MODULE, "-a", "name=pi-garage", check=False,
                         env=dict(ansible_env, REMOTEIT_API_URL=url))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert '"msg": "the server at %s does not speak TLS (use http:// if that is intended)"' % url in output
    assert "validate_certs" not in output and "Traceback" not in output


@pytest.mark.parametrize("how", ["validate_certs", "environment", "ca_bundle"])
def test_the_certificate_is_accepted_when_trusted(list_devices, certificate, how):
    if how == "validate_certs":
        returncode, output = list_devices("name=pi-garage validate_certs=false")
    elif how == "environment":
        returncode, output = list_devices(REMOTEIT_VALIDATE_CERTS="false")
    else:
        returncode, output = list_devices(REQUESTS_CA_BUNDLE=certificate[0])
    assert returncode == 0, output
    assert '"name": "pi-garage"' in output
