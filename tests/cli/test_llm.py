"""Bad input through the real CLI: one clear line on stderr, exit code 2."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from workbench.cli import main
from workbench.llm.guard import allow_model_requests
from workbench.llm.local import free_port


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err.strip()
    return int(info.value.code or 0), err


def assert_one_line(err: str, *needles: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:")
    for needle in needles:
        assert needle in err


def test_unknown_model_name_lists_known(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["llm", "setup", "--model", "llama-9000"], capsys)
    assert code == 2
    assert_one_line(err, "'llama-9000'", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct")


def test_unknown_model_kind(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["llm", "chat", "hi", "--model", "banana:x"], capsys)
    assert code == 2
    assert_one_line(err, "'banana:x'", "endpoint:<model>")


def test_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with allow_model_requests(True):  # a closed local port, not a model
        code, err = run_cli(
            ["llm", "chat", "hi", "--model", "endpoint:m", "--base-url", url], capsys
        )
    assert code == 2
    assert_one_line(err, "cannot reach the model endpoint", url)


def test_missing_api_key_variable_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WB_TEST_NO_SUCH_KEY", raising=False)
    args = [
        "llm",
        "chat",
        "hi",
        "--model",
        "openai:gpt-4o-mini",
        "--api-key-env",
        "WB_TEST_NO_SUCH_KEY",
    ]
    code, err = run_cli(args, capsys)
    assert code == 2
    assert_one_line(err, "$WB_TEST_NO_SUCH_KEY is not set")


def test_openai_default_key_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, err = run_cli(["llm", "chat", "hi", "--model", "openai:gpt-4o-mini"], capsys)
    assert code == 2
    assert_one_line(err, "$OPENAI_API_KEY")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_in_use(capsys: pytest.CaptureFixture[str], busy_port: int) -> None:
    code, err = run_cli(
        ["llm", "serve", "--model", "smollm2-135m-instruct", "--port", str(busy_port)], capsys
    )
    assert code == 2
    assert_one_line(err, f"port {busy_port}", "already in use")


def test_unknown_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["llm", "serve", "--engine", "tgi"], capsys)
    assert code == 2
    assert_one_line(err, "unknown engine 'tgi'")


def test_vllm_missing_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a)
    )
    code, err = run_cli(
        ["llm", "serve", "--engine", "vllm", "--model", "Qwen/Qwen2.5-0.5B"], capsys
    )
    assert code == 2
    assert_one_line(err, "vLLM is not installed", "pip install")


def test_status_shows_binary_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["llm", "status"])
    assert info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "llama-server 0.3.36" in out and "smollm2" in out
