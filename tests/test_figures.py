"""``python -m figures`` must keep working: build every figure in --quick mode."""
import json
import subprocess
import sys

import numpy as np

from figures import FIGURES
from figures.__main__ import build


def test_list_names_every_figure():
    out = subprocess.run([sys.executable, "-m", "figures", "--list"], capture_output=True,
                         text=True, check=True).stdout
    assert [line.split()[0] for line in out.splitlines()] == list(FIGURES)


def test_quick_build_writes_image_and_numbers(tmp_path):
    subprocess.run([sys.executable, "-m", "figures", "--quick", "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in FIGURES:
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        meta = json.loads((tmp_path / f"{name}.json").read_text())
        assert meta["config"]  # the numbers themselves: JSON values and the NPZ below
        with np.load(tmp_path / f"{name}.npz") as f:
            assert len(f.files) > 0


def test_list_prints_whole_first_sentences():
    out = subprocess.run([sys.executable, "-m", "figures", "--list"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        assert line.rstrip().endswith((".", ")")), line  # not cut mid-sentence


def test_committed_images_replot_byte_for_byte(tmp_path):
    # Every committed PNG is reproduced exactly from its committed numbers by plot() alone:
    # the figures depend on nothing but the stored .json/.npz (theory included).
    import shutil

    from figures.__main__ import HERE, replot
    for name in FIGURES:
        for ext in ("json", "npz"):
            shutil.copy(HERE / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
        assert replot(name, tmp_path).read_bytes() == (HERE / f"{name}.png").read_bytes(), name


def test_replot_negative_control(tmp_path):
    # changing one stored number changes the image: the byte comparison above can fail
    import shutil

    from figures.__main__ import HERE, replot
    name = "valley_density"
    shutil.copy(HERE / f"{name}.npz", tmp_path / f"{name}.npz")
    meta = json.loads((HERE / f"{name}.json").read_text())
    meta["chi2"] += 10
    (tmp_path / f"{name}.json").write_text(json.dumps(meta))
    assert replot(name, tmp_path).read_bytes() != (HERE / f"{name}.png").read_bytes()


def test_images_are_stable(tmp_path):
    # Same seeds, same numbers, same bytes: no timestamps in the PNG metadata.
    a = build(FIGURES[0], tmp_path / "a", quick=True).read_bytes()
    b = build(FIGURES[0], tmp_path / "b", quick=True).read_bytes()
    assert a == b
