"""Pytest fixtures for SAML: `acme_idp` (trusted and registered) and `rogue_idp` (an untrusted key).

The IdP itself (pysaml2 signing real assertions) lives in samples/saml_idp.py, shared with the samples.
Import the fixtures into the test modules that use them.
"""

import copy

import pytest

from samples.saml_idp import ACME_ENTITY_ID, ROGUE_ENTITY_ID, TestIdP, generate_test_keypair, saml_time  # noqa: F401

# --- pytest fixtures: import them into the test module (`from tests.saml_idp import acme_idp, ...`) ----
@pytest.fixture(scope="session")
def saml_test_keys(tmp_path_factory):
    """Test-only key pairs, generated once per test session: acme (trusted) and rogue (never registered)."""
    directory = tmp_path_factory.mktemp("saml-test-keys")
    return {name: generate_test_keypair(directory, f"{name}-idp") for name in ("acme", "rogue")}


@pytest.fixture(scope="session")
def _acme_signer(saml_test_keys):
    return TestIdP(ACME_ENTITY_ID, *saml_test_keys["acme"])


@pytest.fixture(scope="session")
def _rogue_signer(saml_test_keys):
    return TestIdP(ROGUE_ENTITY_ID, *saml_test_keys["rogue"])


@pytest.fixture
def acme_idp(db, _acme_signer):
    """The trusted IdP, registered from its metadata (enabled, no auto-provisioning); `.model` is the row."""
    from saml_bridge.registry import identity_provider_import

    idp = copy.copy(_acme_signer)
    idp.model, _created = identity_provider_import(metadata_xml=idp.metadata_xml())
    return idp


@pytest.fixture
def rogue_idp(_rogue_signer):
    """An IdP nobody registered: its key and its entity ID are unknown to us."""
    return copy.copy(_rogue_signer)
