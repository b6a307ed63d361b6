"""X.509 signing certificates of identity providers: parse, check and describe PEM text.

The certificate is only a container for the IdP's public key (SAML metadata practice, SAML 2.0
Metadata §2.4.1.1): its validity dates and issuer are not checked when an assertion is verified.
"""

import base64
import datetime as dt
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from django.core.exceptions import ValidationError

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
MIN_RSA_BITS = 2048


def load_certificates(text):
    """The certificates in `text` (one or more PEM blocks), or ValidationError naming what is wrong."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Paste at least one PEM certificate (-----BEGIN CERTIFICATE-----).")
    blocks = PEM_BLOCK.findall(text)
    if any("PRIVATE KEY" in label for label, _ in blocks):
        raise ValidationError("This is a private key: paste only the identity provider's certificate.")
    if not blocks or PEM_BLOCK.sub("", text).strip():
        raise ValidationError("Only PEM certificate blocks (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) "
                              "are accepted, one after another.")
    return [_load_block(number, label, body) for number, (label, body) in enumerate(blocks, start=1)]


def _load_block(number, label, body):
    if label != "CERTIFICATE":
        raise ValidationError(f"Block {number} is a {label.lower()}, not a certificate.")
    try:
        cert = x509.load_pem_x509_certificate(f"-----BEGIN CERTIFICATE-----{body}-----END CERTIFICATE-----".encode())
    except ValueError:
        raise ValidationError(f"Certificate {number} is not a valid X.509 certificate (broken PEM or DER).")
    _check_key(number, cert)
    return cert


def _check_key(number, cert):
    try:
        key = cert.public_key()
    except Exception:
        raise ValidationError(f"Certificate {number} has a public key of an unsupported type.")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValidationError(f"Certificate {number} has a {key.key_size}-bit RSA key: at least {MIN_RSA_BITS} bits.")
    if isinstance(key, dsa.DSAPublicKey) or not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ValidationError(f"Certificate {number} must hold an RSA or EC key.")


def to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def pem_from_base64_der(text):
    """A PEM certificate from the base64 DER of a metadata <ds:X509Certificate>; ValidationError if broken."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        return to_pem(x509.load_der_x509_certificate(der))
    except ValueError:
        raise ValidationError("The metadata holds a <ds:X509Certificate> that is not a valid certificate.")


def base64_der(cert):
    """The base64 DER body, as a <ds:X509Certificate> carries it."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def describe(cert):
    """One line for admins comparing with what the IdP shows: subject, SHA-256 fingerprint, expiry."""
    return (f"{cert.subject.rfc4514_string() or '(no subject)'}; SHA-256 {fingerprint(cert)}; "
            f"expires {cert.not_valid_after_utc:%Y-%m-%d}")


def self_signed_pair(common_name, *, key_size=2048, days=365):
    """A new RSA key and a self-signed certificate naming it, as PEM text: (key_pem, cert_pem).

    For demo and test identity providers only: a real IdP's certificate comes from its metadata.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, to_pem(cert)
