"""Every sample client runs unattended against a real server process and must succeed."""

import subprocess
import sys

import pytest

from samples.__main__ import FLOWS
from tests.e2e.conftest import ROOT


def run_sample(live_app, flow):
    return subprocess.run([sys.executable, "-m", "samples", flow, "--server", live_app.url,
                           "--credentials", str(live_app.credentials), "--non-interactive"],
                          cwd=ROOT, env=live_app.env, capture_output=True, text=True, timeout=120)


def test_samples_list_names_every_flow():
    out = subprocess.run([sys.executable, "-m", "samples", "--list"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == list(FLOWS)


@pytest.mark.parametrize("flow", list(FLOWS))
def test_sample_runs_end_to_end(live_app, flow):
    result = run_sample(live_app, flow)
    assert result.returncode == 0, f"{flow} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "access_token=" in result.stdout
    assert "protected API call succeeded" in result.stdout
    # Secrets and tokens are masked in what the samples print.
    for client in __import__("json").loads(live_app.credentials.read_text())["clients"].values():
        if client.get("client_secret"):
            assert client["client_secret"] not in result.stdout


def test_sample_fails_clearly_when_the_server_is_down(live_app, tmp_path):
    result = subprocess.run([sys.executable, "-m", "samples", "client-credentials", "--server", "http://127.0.0.1:9",
                             "--credentials", str(live_app.credentials), "--non-interactive"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not answering" in result.stderr


def test_sample_fails_clearly_when_the_client_is_not_seeded(live_app, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text('{"clients": {}, "users": {}}')
    result = subprocess.run([sys.executable, "-m", "samples", "client-credentials", "--server", live_app.url,
                             "--credentials", str(empty), "--non-interactive"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "seed_demo" in result.stderr
