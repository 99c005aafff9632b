"""``endpoint: url`` teachers are checked before anything runs: ``--dry-run`` and the start of a
real run ask ``GET {teacher.url}/models``; a server that does not answer, or does not list
``teacher.model``, is a ConfigError naming the experiment file and the field to fix."""
from __future__ import annotations

import socket
from pathlib import Path

import yaml

from escbench.harness.cli import main
from scripted_openai import ScriptedServer

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "tasks" / "experiments" / "smoke.yaml"


def _experiment(tmp_path: Path, url: str, model: str) -> Path:
    raw = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    raw["teacher"] = {"endpoint": "url", "url": url, "model": model, "max_tokens": 256, "max_retries": 0}
    raw["data"]["new_scenes_splits"] = [str(REPO / "tasks/experiments/splits/seed_new_scenes.yaml")]
    path = tmp_path / "remote.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_dry_run_checks_the_teacher_serves_the_model(tmp_path, capsys):
    with ScriptedServer(models=("other-model", "teacher-7b")) as server:
        path = _experiment(tmp_path, server.url, "teacher-7b")
        assert main(["experiment", "run", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
        assert server.models_requests >= 1
        assert server.requests == 0  # a dry run sends no chat request
    assert f"{server.url} answers and serves 'teacher-7b'" in capsys.readouterr().out


def test_dry_run_names_teacher_model_when_the_server_lacks_it(tmp_path, capsys):
    with ScriptedServer(models=("other-model",)) as server:
        path = _experiment(tmp_path, server.url, "teacher-7b")
        assert main(["experiment", "run", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "teacher.model" in err and "'teacher-7b'" in err and "'other-model'" in err


def test_dry_run_names_teacher_url_on_a_closed_port(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    path = _experiment(tmp_path, url, "teacher")
    assert main(["experiment", "run", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "teacher.url" in err and url in err


def test_server_without_a_model_list_is_refused(tmp_path, capsys):
    with ScriptedServer(models=None) as server:  # GET /v1/models answers 404
        path = _experiment(tmp_path, server.url, "teacher")
        assert main(["experiment", "run", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "teacher.url" in err and "HTTP 404" in err


def test_real_run_checks_the_teacher_before_any_unit(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    path = _experiment(tmp_path, url, "teacher")
    out = tmp_path / "out"
    assert main(["experiment", "run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "teacher.url" in err
    assert not (out / "expand").exists()  # stopped before the first unit
