"""RFC 7523 §3, rule by rule, on the pure verification function (no database: the replay store and the
user lookup are given in memory). Each test breaks one claim of a valid assertion."""

import time
from types import SimpleNamespace

import pytest

from oauth_server.jwt_assertions import AssertionRejected, Purpose, unverified_issuer, verify_assertion
from tests.unit.test_jwt_support import (
    certificate_pem,
    claims,
    hs256_with_public_key,
    jwks,
    private_key,
    public_jwk,
    sign,
    unsigned,
)

TOKEN_ENDPOINT = "https://as.example/oauth/token"
ISSUER = "https://as.example"
AUDIENCES = [TOKEN_ENDPOINT, ISSUER]
GRANT, CLIENT_AUTH = Purpose.AUTHORIZATION_GRANT, Purpose.CLIENT_AUTHENTICATION


class MemoryReplayStore:
    def __init__(self):
        self.used = set()

    def claim(self, issuer, jti, expires_at):
        if (issuer, jti) in self.used:
            return False
        self.used.add((issuer, jti))
        return True


USERS = {"alice": SimpleNamespace(username="alice", is_active=True)}


def partner(**fields):
    """An unsaved client: the verification needs only its id and keys."""
    values = {"client_id": "partner-service", "jwks": jwks(public_jwk(private_key("rsa"), kid="rsa-1")),
              "jwks_uri": "", "certificate": ""}
    values.update(fields)
    return SimpleNamespace(**values)


def verify(assertion, client=None, purpose=GRANT, store=None, **kwargs):
    return verify_assertion(assertion, client=client or partner(), audiences=AUDIENCES, purpose=purpose,
                            replay_store=store or MemoryReplayStore(), find_user=USERS.get, **kwargs)


def good(**overrides):
    values = {"iss": "partner-service", "sub": "partner-service", "aud": TOKEN_ENDPOINT, **overrides}
    return claims(**values)


def rejected(assertion, **kwargs):
    with pytest.raises(AssertionRejected) as info:
        verify(assertion, **kwargs)
    return info.value.reason


RSA = private_key("rsa")


# --- what passes -----------------------------------------------------------------------------------
def test_valid_client_assertion_returns_claims_without_user():
    result = verify(sign(good(), RSA, kid="rsa-1"))
    assert result.user is None and result.claims["iss"] == "partner-service"


def test_user_bound_assertion_returns_the_user():
    assert verify(sign(good(sub="alice"), RSA, kid="rsa-1")).user is USERS["alice"]


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_each_accepted_key_type_verifies(kind):
    key = private_key(kind)
    client = partner(jwks=jwks(public_jwk(key, kid="k")))
    assert verify(sign(good(), key, kid="k"), client=client).client is client


def test_ps256_is_accepted_with_an_rsa_key():
    assert verify(sign(good(), RSA, alg="PS256", kid="rsa-1"))


def test_audience_may_be_the_issuer_or_a_list():
    verify(sign(good(aud=ISSUER), RSA, kid="rsa-1"))
    verify(sign(good(aud=["https://other.example", TOKEN_ENDPOINT]), RSA, kid="rsa-1"))


def test_key_is_found_without_kid():
    verify(sign(good(), RSA))


def test_certificate_key_verifies_whatever_the_kid():
    client = partner(jwks={}, certificate=certificate_pem(RSA))
    verify(sign(good(), RSA, kid="x5t-whatever"), client=client)


def test_small_clock_skew_is_tolerated(settings):
    settings.JWT_CLOCK_SKEW_SECONDS = 60
    now = int(time.time())
    verify(sign(good(exp=now - 30, iat=now - 100, nbf=now + 30), RSA, kid="rsa-1"), now=now)


# --- size and header (rule 9, 10) --------------------------------------------------------------------
def test_rejects_oversized_assertion_before_parsing(settings):
    settings.JWT_ASSERTION_MAX_BYTES = 1000
    assert "larger than 1000 bytes" in rejected("a" * 1001)


def test_rejects_garbage():
    assert "not a signed JWT" in rejected("not-a-jwt")
    assert "header" in rejected("bm90IGpzb24.e30.sig")


def test_rejects_alg_none():
    assert "'none' is not accepted" in rejected(unsigned(good()))


def test_rejects_hs256_signed_with_the_public_key_as_secret():
    assert "'HS256' is not accepted" in rejected(hs256_with_public_key(good(), RSA, kid="rsa-1"))


def test_rejects_rs256_header_on_an_ec_key():
    ec_key = private_key("ec")
    client = partner(jwks=jwks(public_jwk(ec_key, kid="ec-1")))
    # A token that claims RS256 but whose key is EC: the EC key is never used for RS256.
    forged = sign(good(), RSA, alg="RS256", kid="ec-1")
    assert rejected(forged, client=client) == "algorithm RS256 does not fit the type of key 'ec-1' (EC secp256r1)"


def test_rejects_es256_header_on_an_rsa_key():
    forged = sign(good(), private_key("ec"), alg="ES256", kid="rsa-1")
    assert "algorithm ES256 does not fit the type of key 'rsa-1' (RSA)" == rejected(forged)


def test_rejects_alg_other_than_the_one_the_jwk_declares():
    client = partner(jwks=jwks(public_jwk(RSA, kid="rsa-1", alg="RS256")))
    assert "does not fit" in rejected(sign(good(), RSA, alg="PS256", kid="rsa-1"), client=client)


def test_an_unknown_alg_is_not_echoed():
    token = sign(good(), RSA, kid="rsa-1")
    head = __import__("base64").urlsafe_b64encode(b'{"alg":"<script>x</script>"}').rstrip(b"=").decode()
    reason = rejected(".".join([head, *token.split(".")[1:]]))
    assert reason.startswith("signing algorithm (alg) (missing or unknown) is not accepted") and "script" not in reason


def test_rejects_critical_headers():
    assert "crit" in rejected(sign(good(), RSA, kid="rsa-1", crit=["exp"]))


def test_rejects_an_access_token_presented_as_an_assertion():
    assert "at+jwt" in rejected(sign(good(), RSA, kid="rsa-1", typ="at+jwt"))


# --- signature (rule 9) --------------------------------------------------------------------------------
def test_rejects_bad_signature():
    token = sign(good(), RSA, kid="rsa-1")
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    reason = rejected(tampered)
    assert reason == "signature does not verify with a key registered for the issuer (iss)"


def test_rejects_altered_claims():
    token = sign(good(), RSA, kid="rsa-1")
    other = sign(good(sub="alice"), RSA, kid="rsa-1")
    spliced = ".".join([token.split(".")[0], other.split(".")[1], token.split(".")[2]])
    assert "signature" in rejected(spliced)


def test_rejects_key_of_another_client():
    intruder = private_key("rsa", 1)
    assert "signature" in rejected(sign(good(), intruder, kid="rsa-1"))
    assert "signature" in rejected(sign(good(), intruder))


def test_rejects_unknown_client():
    with pytest.raises(AssertionRejected) as info:
        verify_assertion(sign(good(), RSA), client=None, audiences=AUDIENCES, purpose=GRANT,
                         replay_store=MemoryReplayStore())
    assert info.value.key_related


def test_rejects_client_without_keys():
    assert "signature" in rejected(sign(good(), RSA, kid="rsa-1"), client=partner(jwks={}))


def test_signature_is_checked_before_claims():
    # An expired assertion by someone else's key says "signature", not "expired".
    assert "signature" in rejected(sign(good(exp=1), private_key("rsa", 1), kid="rsa-1"))


# --- claims (rules 1-7) ---------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, reason", [
    ({"iss": None}, "issuer (iss) is missing"),                                                   # rule 1
    ({"iss": "someone-else"}, "issuer (iss) is not the client's client_id"),                      # rule 1
    ({"sub": None}, "subject (sub) is missing"),                                                  # rule 2
    ({"sub": "mallory"}, "subject (sub) is not an active user"),                                  # rule 2
    ({"aud": None}, "audience (aud) is missing"),                                                 # rule 3
    ({"aud": "https://other.example/token"}, "audience (aud) does not include the token endpoint or the issuer"),
    ({"aud": [123]}, "audience (aud) is missing"),                                                # rule 3
    ({"exp": None}, "expiration time (exp) is missing"),                                          # rule 4
    ({"exp": int(time.time()) - 3600}, "assertion expired (exp)"),                                # rule 4
    ({"exp": "tomorrow"}, "exp is not a NumericDate"),                                            # rule 4
    ({"exp": int(time.time()) + 86400}, "expiration time (exp) is more than 3600 seconds ahead"), # rule 4
    ({"nbf": int(time.time()) + 3600}, "assertion not yet valid (nbf)"),                          # rule 5
    ({"iat": None}, "issued-at time (iat) is missing"),                                           # rule 6
    ({"iat": int(time.time()) - 3600}, "assertion too old: issued (iat) more than 300 seconds ago"),
    ({"iat": int(time.time()) + 3600}, "issued-at time (iat) is in the future"),                  # rule 6
    ({"jti": None}, "JWT ID (jti) is missing"),                                                   # rule 7
    ({"jti": "x" * 300}, "JWT ID (jti) is longer than 256 characters"),                           # rule 7
])
def test_rejects_each_broken_claim(overrides, reason):
    assert rejected(sign(good(**overrides), RSA, kid="rsa-1")) == reason


def test_rejects_inactive_user():
    users = {"bob": SimpleNamespace(username="bob", is_active=False)}
    with pytest.raises(AssertionRejected, match="not an active user"):
        verify_assertion(sign(good(sub="bob"), RSA), client=partner(), audiences=AUDIENCES, purpose=GRANT,
                         replay_store=MemoryReplayStore(),
                         find_user=lambda name: users[name] if users[name].is_active else None)


def test_client_assertion_subject_must_be_the_client():
    token = sign(good(sub="alice"), RSA, kid="rsa-1")
    assert rejected(token, purpose=CLIENT_AUTH) == "subject (sub) of a client assertion must be the client_id"


def test_rejects_replayed_jti():
    store = MemoryReplayStore()
    token = sign(good(), RSA, kid="rsa-1")
    verify(token, store=store)
    assert rejected(token, store=store) == "JWT ID (jti) already used: the assertion was replayed"


def test_replay_is_checked_last_so_a_refused_assertion_does_not_burn_its_jti():
    store = MemoryReplayStore()
    jti = "same-jti"
    rejected(sign(good(jti=jti, aud="https://wrong.example"), RSA, kid="rsa-1"), store=store)
    verify(sign(good(jti=jti), RSA, kid="rsa-1"), store=store)


def test_reason_never_contains_the_assertion():
    token = sign(good(exp=1), RSA, kid="rsa-1")
    reason = rejected(token)
    for part in token.split("."):
        assert part not in reason


def test_unverified_issuer_peeks_without_verifying():
    assert unverified_issuer(sign(good(), private_key("rsa", 1))) == "partner-service"
    assert unverified_issuer("garbage") is None
    assert unverified_issuer(sign({"sub": "no-issuer"}, RSA)) is None
