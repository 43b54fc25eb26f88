"""docker-compose.yml as docker-compose reads it (Debian's docker-compose: `config`): the
API with a healthcheck, Chroma's and the API's ports published, Redis's not, uploads
shared with the pools, the beat and the sources pool beside them."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed (.ci/run installs it)")
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")
    out = subprocess.run([tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True,
                         check=True, timeout=60, env={  # the file's defaults, not the tests' settings
                             k: v for k, v in os.environ.items() if not k.startswith("INGEST_")})
    return yaml.safe_load(out.stdout)["services"]


def published(service: dict) -> set[int]:
    return {int(port["published"]) if isinstance(port, dict) else int(str(port).split(":")[0])
            for port in service.get("ports", [])}


def test_the_api_serves_on_a_published_port_with_a_readiness_healthcheck(services):
    api = services["api"]
    assert api["command"][:2] == ["ingest", "serve"]
    assert published(api) == {8900}
    assert "/readyz" in " ".join(api["healthcheck"]["test"])


def test_chroma_is_published_and_redis_is_not(services):
    assert 8000 in published(services["chroma"])
    assert published(services["redis"]) == set()


def test_the_pools_read_the_uploads_the_api_stores(services):
    def target(service: str) -> set[str]:
        return {str(v["target"]) if isinstance(v, dict) else v.split(":")[1]
                for v in services[service]["volumes"]}

    for name in ("api", "stream", "bulk"):
        assert "/uploads" in target(name)
        assert services[name]["environment"]["INGEST_UPLOADS_DIR"] == "/uploads"
        assert "/uploads" in services[name]["environment"]["INGEST_SOURCE_ROOTS"].split(":")


def test_the_beat_and_the_sources_pool_run_with_the_rest(services):
    for name in ("beat", "sources"):
        assert services[name]["command"] == ["python", "-m", "workers", name]
        assert services[name]["restart"] == "unless-stopped"
        assert services[name]["environment"]["INGEST_REDIS_URL"] == "redis://redis:6379/0"
    assert "inspect ping -d celerybeat@" in " ".join(services["beat"]["healthcheck"]["test"])
    assert "inspect ping -d sources@" in " ".join(services["sources"]["healthcheck"]["test"])
    assert "/documents" in {v["target"] if isinstance(v, dict) else v.split(":")[1]
                            for v in services["sources"]["volumes"]}  # what syncs list
