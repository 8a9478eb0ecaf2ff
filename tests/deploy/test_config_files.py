"""
The shipped deployment files agree with each other and with the app: docker-compose.yml
(parsed, there is no Docker engine here), the Procfile, run_asgi.sh, the Dockerfile, the
systemd units and the supervisor config run the same commands and set only environment
variables the app or the launcher reads.
"""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

SETTINGS = ROOT / "backend" / "config" / "settings"
RUN_ASGI = ROOT / "run_asgi.sh"
LAUNCHER_VARIABLES = {"ASGI_SERVER", "HOST", "PORT", "BIND_UNIX", "WEB_CONCURRENCY"}


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_shell(service: dict[str, Any]) -> str:
    """The shell line a service runs, as compose passes it on (`$$` is a literal `$`)."""
    command = service["command"]
    assert command[:2] == ["sh", "-c"], command
    line = str(command[2])
    assert not re.search(r"(?<!\$)\$(?!\$)", line.replace("$$", "")), f"compose would interpolate: {line}"
    return line.replace("$$", "$")


def settings_variables() -> set[str]:
    """Every environment variable the settings read."""
    source = "".join(p.read_text() for p in SETTINGS.glob("*.py"))
    return set(
        re.findall(r"""(?:environ\.get|environ\[|env_bool|env_int|env_list)\(?\s*["']([A-Z][A-Z0-9_]*)["']""", source)
    )


def launcher_variables() -> set[str]:
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", RUN_ASGI.read_text()))


def test_run_asgi_keeps_its_environment_interface() -> None:
    assert launcher_variables() >= LAUNCHER_VARIABLES | {"ACCESS_LOG"}


def test_run_asgi_refuses_an_unknown_server() -> None:
    result = subprocess.run(
        [str(RUN_ASGI)], env={"ASGI_SERVER": "gunicorn", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "ASGI_SERVER must be daphne or uvicorn" in result.stderr


def test_the_procfile_runs_the_launcher_the_worker_and_migrations() -> None:
    entries = procfile()
    assert set(entries) == {"release", "web", "worker"}
    assert entries["web"].endswith("./run_asgi.sh")
    assert entries["worker"].startswith("cd backend && ")
    assert "celery -A config worker" in entries["worker"]
    assert entries["release"].endswith("python manage.py migrate --noinput")
    for name in ("release", "worker"):  # manage.py and celery.py default to the local settings
        assert "DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.production}" in entries[name]


def test_compose_has_web_worker_redis_postgres_and_nginx_with_health_checks() -> None:
    services = compose()["services"]
    assert {"web", "worker", "redis", "postgres", "nginx"} <= set(services)
    for name in ("web", "worker", "redis", "postgres", "nginx"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["nginx"]["healthcheck"]["test"])
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_runs_the_procfile_lines() -> None:
    services, entries = compose()["services"], procfile()
    assert compose_shell(services["web"]) == entries["web"]
    assert compose_shell(services["worker"]) == entries["worker"]
    assert compose_shell(services["migrate"]).startswith(entries["release"] + " && ")
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_sets_only_variables_the_app_or_the_launcher_reads() -> None:
    known = settings_variables() | launcher_variables()
    services = compose()["services"]
    for name in ("web", "worker", "migrate"):
        unknown = set(services[name]["environment"]) - known
        assert not unknown, f"{name} sets {unknown}, which nothing reads"
    assert LAUNCHER_VARIABLES - {"BIND_UNIX"} <= set(services["web"]["environment"])
    assert services["web"]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_compose_nginx_uses_the_shipped_site_config() -> None:
    volumes = compose()["services"]["nginx"]["volumes"]
    site = (ROOT / "deploy" / "nginx" / "syncline.conf").read_text()
    include = re.search(r"include (\S+);", site)
    assert include is not None
    assert "./deploy/nginx/syncline.conf:/etc/nginx/conf.d/default.conf:ro" in volumes
    upstreams = next(v for v in volumes if v.startswith("./deploy/docker/nginx-upstreams.conf:"))
    assert upstreams.split(":")[1] == f"/etc/nginx/{include.group(1)}"
    assert (ROOT / "deploy" / "docker" / "nginx-upstreams.conf").read_text().count("server web:8000") == 1


def test_the_image_holds_what_the_procfile_runs() -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "COPY run_asgi.sh Procfile ./" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert 'CMD ["./run_asgi.sh"]' in dockerfile
    build = compose()["x-app"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).exists()


def systemd_unit(name: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as lists of (key, value); keys such as Environment= repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in (ROOT / "deploy" / "systemd" / name).read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            sections[current].append((key, value))
    return sections


@pytest.mark.parametrize("unit", ["syncline-web@.service", "syncline-worker.service"])
def test_the_systemd_units_run_under_the_production_settings_and_stop_gracefully(unit: str) -> None:
    service = systemd_unit(unit)["Service"]
    assert ("Environment", "DJANGO_SETTINGS_MODULE=config.settings.production") in service
    assert ("EnvironmentFile", "/etc/syncline/env") in service
    assert ("KillSignal", "SIGTERM") in service
    assert ("Restart", "always") in service


def test_the_systemd_web_unit_runs_the_launcher_on_the_instance_port() -> None:
    service = dict(systemd_unit("syncline-web@.service")["Service"])
    assert service["ExecStart"].endswith("/run_asgi.sh")
    environment = [v for k, v in systemd_unit("syncline-web@.service")["Service"] if k == "Environment"]
    assert "PORT=%i" in environment
    assert {v.split("=")[0] for v in environment} <= settings_variables() | launcher_variables()


def test_the_systemd_worker_unit_runs_the_procfile_worker_command() -> None:
    service = dict(systemd_unit("syncline-worker.service")["Service"])
    assert service["WorkingDirectory"].endswith("/backend")
    worker = procfile()["worker"].split("celery ", 1)[1]
    assert service["ExecStart"].split("/bin/celery ", 1)[1].startswith(worker)


def test_the_supervisor_config_runs_the_launcher_per_port_and_the_worker() -> None:
    text = (ROOT / "deploy" / "supervisor" / "syncline.conf").read_text()
    assert "command=%(ENV_SYNCLINE_HOME)s/run_asgi.sh" in text
    assert "numprocs_start=%(ENV_PORT_BASE)s" in text
    assert 'PORT="%(process_num)s"' in text
    worker = procfile()["worker"].split("celery ", 1)[1]
    assert f"/.venv/bin/celery {worker}" in text
    for environment in re.findall(r"^environment=(.*)$", text, flags=re.M):
        names = set(re.findall(r'([A-Z_]+)="', environment))
        assert names <= settings_variables() | launcher_variables()


def test_every_settings_variable_is_documented() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "deployment.md").read_text()))
    assert sorted((settings_variables() | LAUNCHER_VARIABLES | {"ACCESS_LOG"}) - documented) == []


def test_nginx_logs_no_query_strings() -> None:
    site = (ROOT / "deploy" / "nginx" / "syncline.conf").read_text()
    log_format = re.search(r"log_format syncline (.*?);", site, flags=re.S)
    assert log_format is not None
    assert "$uri" in log_format.group(1)
    for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$http_referer"):
        assert leaky not in log_format.group(1)
    assert re.findall(r"access_log (\S+)(?: (\S+))?;", site) == [("/var/log/nginx/access.log", "syncline")]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the units, with the checkout and user of this machine."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: the systemd package)")
    for unit in ("syncline-web@.service", "syncline-worker.service"):
        text = (ROOT / "deploy" / "systemd" / unit).read_text()
        text = text.replace("/srv/syncline", str(ROOT)).replace("=syncline\n", f"={getpass.getuser()}\n")
        text = text.replace("EnvironmentFile=/etc/syncline/env", "EnvironmentFile=-/etc/syncline/env")
        (tmp_path / unit.replace("@.", "@8000.")).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
