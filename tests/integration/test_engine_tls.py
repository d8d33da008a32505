"""A remote engine over TLS (tcp:// + DOCKER_CERT_PATH/DOCKER_TLS_VERIFY), against a real dockerd
listening on a loopback port with --tlsverify and certificates made for the test."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.test import override_settings

from images_app import engine
from images_app.engine.client import forget_clients, tls_config
from images_app.errors import EngineUnavailable
from tests.integration.conftest import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dockerd"), reason="needs root and dockerd"),
]


@dataclass
class Remote:
    name: str
    docker_host: str


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key: ec.EllipticCurvePrivateKey | None = None, cert: x509.Certificate | None = None) -> None:
    if key is not None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool = False, usage=None, sans=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path) -> tuple[Path, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate. Returns (server dir, client dir)."""
    server_dir, client_dir = folder / "server", folder / "client"
    server_dir.mkdir()
    client_dir.mkdir()
    ca_key = _key()
    ca = _cert("berth-test-ca", ca_key, None, ca_key, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert(
        "127.0.0.1",
        server_key,
        ca.subject,
        ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client = _cert("berth", client_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    for target in (server_dir, client_dir):
        _write(target / "ca.pem", cert=ca)
    _write(server_dir / "key.pem", key=server_key)
    _write(server_dir / "cert.pem", cert=server)
    _write(client_dir / "key.pem", key=client_key)
    _write(client_dir / "cert.pem", cert=client)
    return server_dir, client_dir


@pytest.fixture(scope="module")
def tls_engine():
    # A short folder: dockerd's containerd socket lives below it and unix paths are limited.
    folder = Path(tempfile.mkdtemp(prefix="btls-", dir="/tmp"))
    server_dir, client_dir = make_pki(folder)
    port = free_port()
    log = open(folder / "dockerd.log", "wb")
    proc = subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(folder / "d"),
            "--exec-root",
            str(folder / "x"),
            "--pidfile",
            str(folder / "dockerd.pid"),
            "-H",
            f"tcp://127.0.0.1:{port}",
            "--tlsverify",
            "--tlscacert",
            str(server_dir / "ca.pem"),
            "--tlscert",
            str(server_dir / "cert.pem"),
            "--tlskey",
            str(server_dir / "key.pem"),
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
        ],  # fmt: skip
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    remote = Remote("tls", f"tcp://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            forget_clients()
            try:
                with override_settings(DOCKER_CERT_PATH=str(client_dir), DOCKER_TLS_VERIFY=True):
                    engine.endpoint_ping(remote)
                break
            except EngineUnavailable:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "dockerd.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield remote, client_dir, folder
    finally:
        forget_clients()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_clients():
    forget_clients()
    yield
    forget_clients()


def test_a_tls_engine_answers_with_the_client_certificate(tls_engine):
    remote, client_dir, _ = tls_engine
    with override_settings(DOCKER_CERT_PATH=str(client_dir), DOCKER_TLS_VERIFY=True):
        assert engine.endpoint_ping(remote)
        assert engine.list_images(remote) == []


def test_a_tls_engine_refuses_a_client_without_certificates(tls_engine):
    remote, _, _ = tls_engine
    with override_settings(DOCKER_CERT_PATH="", DOCKER_TLS_VERIFY=False):
        with pytest.raises(EngineUnavailable) as raised:
            engine.endpoint_ping(remote)
    assert "the engine speaks TLS: set DOCKER_CERT_PATH" in raised.value.detail


def test_an_engine_certificate_from_another_ca_is_refused_when_verifying(tls_engine):
    remote, client_dir, folder = tls_engine
    other = folder / "other"
    other.mkdir(exist_ok=True)
    _, other_client = make_pki(other)
    # Our real client certificate, but trusting only the other CA: the engine's certificate must not pass.
    for name in ("cert.pem", "key.pem"):
        shutil.copy(client_dir / name, other_client / name)
    with override_settings(DOCKER_CERT_PATH=str(other_client), DOCKER_TLS_VERIFY=True):
        with pytest.raises(EngineUnavailable) as raised:
            engine.endpoint_ping(remote)
    assert "tcp://127.0.0.1" in raised.value.endpoint
    assert raised.value.detail.startswith("TLS failed")


def test_a_unix_socket_endpoint_never_uses_tls(tls_engine):
    _, client_dir, _ = tls_engine
    with override_settings(DOCKER_CERT_PATH=str(client_dir), DOCKER_TLS_VERIFY=True):
        assert tls_config("unix:///var/run/docker.sock") is False
        assert tls_config("tcp://127.0.0.1:2376")
