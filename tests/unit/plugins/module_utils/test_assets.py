"""Asset bridging on the host: volumes that hold both versions' assets, kept for one release."""
from __future__ import annotations

import io
import os
import tarfile

from ansible_collections.berth.deploy.plugins.module_utils import _assets


def extracted(assets, image, files):
    directory = assets.extracted(image)
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(directory, name)), exist_ok=True)
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    open(os.path.join(directory, _assets.COMPLETE), "w", encoding="utf-8").close()


def listing(path):
    return sorted(os.path.relpath(os.path.join(root, name), path) for root, _dirs, files in os.walk(path) for name in files)


def test_each_version_serves_the_others_assets_and_the_old_ones_stay_one_release(tmp_path):
    assets = _assets.Assets("/rails/public/assets", str(tmp_path / "shop-web"))
    extracted(assets, "sha256:" + "1" * 64, {"app-1.css": "one", "manifest.json": "{1}"})
    assert _assets.prepare(assets, "sha256:" + "1" * 64, []) == 0
    extracted(assets, "sha256:" + "2" * 64, {"app-2.css": "two", "manifest.json": "{2}", "img/logo-2.png": "png"})
    shared = _assets.prepare(assets, "sha256:" + "2" * 64, ["1" * 16])
    assert shared == 2  # app-2.css and img/logo-2.png went into v1's volume; its manifest.json stays its own
    v1, v2 = assets.volume("1" * 16), assets.volume("sha256:" + "2" * 64)
    assert listing(v2) == ["app-1.css", "app-2.css", "img/logo-2.png", "manifest.json"]
    assert listing(v1) == ["app-1.css", "app-2.css", "img/logo-2.png", "manifest.json"]
    assert open(os.path.join(v2, "manifest.json"), encoding="utf-8").read() == "{2}"  # never overwritten
    assert open(os.path.join(v1, "manifest.json"), encoding="utf-8").read() == "{1}"
    assert assets.mount("sha256:" + "2" * 64) == f"{v2}:/rails/public/assets"
    extracted(assets, "sha256:" + "3" * 64, {"app-3.css": "three"})
    _assets.prepare(assets, "sha256:" + "3" * 64, ["2" * 16])
    assert listing(assets.volume("3" * 16)) == ["app-2.css", "app-3.css", "img/logo-2.png", "manifest.json"]  # v1's: gone
    assert _assets.prune(assets, ["sha256:" + "3" * 64, "2" * 16]) == ["1" * 16]
    assert not os.path.exists(v1) and os.path.exists(v2)


def test_unpacking_keeps_files_and_directories_under_the_target_only(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in (("./ok.css", b"ok"), ("./sub/deep.js", b"js"), ("../evil", b"x"), ("/abs", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("./link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    buffer.seek(0)
    _assets._unpack(buffer, str(tmp_path / "out"))  # pylint: disable=protected-access
    assert listing(tmp_path / "out") == ["ok.css", "sub/deep.js"] and not (tmp_path / "evil").exists()
