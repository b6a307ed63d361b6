"""Key pairs and JWT builders shared by the JWT tests, and checks of the builders themselves.

Keys are generated once per test run (functools.cache: session scope without fixtures, so other test
modules can import them); no key is ever checked in. The builders use PyJWT, as a client would.
"""

import functools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ALGORITHM = {"rsa": "RS256", "ec": "ES256", "ed25519": "EdDSA"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@functools.cache
def private_key(kind="rsa", number=0):
    """A test key pair, made once per run. `number` tells apart several keys of one kind."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def public_jwk(key, kid=None, **members):
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(members)
    return jwk


def private_jwk(key, kid=None):
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    jwk = algorithm.to_jwk(key, as_dict=True)
    if kid:
        jwk["kid"] = kid
    return jwk


def jwks(*jwk_list):
    return {"keys": list(jwk_list)}


def public_pem(key):
    """PEM of a public key, given the key pair or the public key alone."""
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def certificate_pem(key, common_name="partner-service.example"):
    """A self-signed X.509 certificate for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def claims(iss=None, sub=None, aud=None, **overrides):
    """Valid assertion claims; a claim given as None is left out."""
    now = int(time.time())
    values = {"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def sign(payload, key, alg=None, kid=None, **headers):
    """A compact JWS as a client library makes it."""
    if alg is None:
        alg = ALGORITHM[_kind(key)]
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(payload, key, algorithm=alg, headers=headers or None)


def _kind(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ec"
    return "ed25519"


def unsigned(payload):
    """A JWT with alg "none" and an empty signature."""
    return jwt.encode(payload, None, algorithm="none")


def hs256_with_public_key(payload, key, kid=None, typ="JWT"):
    """The key-confusion forgery: HMAC-SHA256 with the victim's PUBLIC key PEM as the secret.

    PyJWT refuses to use a PEM as an HMAC secret, so the token is assembled by hand.
    """
    import base64
    import hashlib
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": typ, **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem(key), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# --- the builders' own checks ----------------------------------------------------------------------------
def test_keys_are_made_once_per_run_and_differ_by_number():
    assert private_key("rsa") is private_key("rsa")
    assert public_jwk(private_key("rsa", 0)) != public_jwk(private_key("rsa", 1))


def test_claims_builder_removes_claims_set_to_none():
    built = claims("c", "c", "https://as.example/oauth/token", jti=None, nbf=5)
    assert "jti" not in built and built["nbf"] == 5 and built["exp"] > built["iat"]


def test_signed_assertions_verify_with_the_public_key():
    for kind in ("rsa", "ec", "ed25519"):
        key = private_key(kind)
        token = sign({"iss": "x"}, key, kid="k1")
        assert jwt.get_unverified_header(token)["kid"] == "k1"
        assert jwt.decode(token, key.public_key(), algorithms=[ALGORITHM[kind]]) == {"iss": "x"}


def test_key_confusion_forgery_is_an_hmac_over_the_public_pem():
    token = hs256_with_public_key({"iss": "x"}, private_key("rsa"))
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
