"""The screenshots in docs/report.md, from a study a real sweep wrote (headless Chromium).

    .venv/bin/fnosweep run sweeps/lr_clip.yaml          # the quickstart, first
    .venv/bin/python scripts/screenshots.py sweeps/lr_clip.yaml --trial 6 --out docs/img

Writes report.png (the report's top, at 1400 px), report-curves.png (learning curves and
gradients), report-trial.png (one trial's section, opened) and dashboard.png (the study page
of `fnosweep dashboard` at 1280 px, with fnosweep's figures published as the driver does).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"


def shoot(url: str, png: Path, width: int, height: int, profile: Path) -> None:
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--no-first-run",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
         f"--window-size={width},{height}", f"--screenshot={png}", url],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def crop(png: Path, out: Path, top: int, bottom: int, left: int = 0) -> None:
    from PIL import Image

    with Image.open(png) as im:
        im.crop((left, top, im.width, min(bottom, im.height))).save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", help="spec file (or storage URL with --study)")
    parser.add_argument("--study", dest="name")
    parser.add_argument("--trial", type=int, required=True, help="the trial whose section to show")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    from fnosweep.store.refs import find_study
    from fnosweep.view.report import make_report

    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="fnosweep-shots-"))
    ref = find_study(args.study, args.name)
    html = make_report(ref, tmp / "report.html").path
    shoot(html.as_uri(), tmp / "full.png", 1400, 7000, tmp / "p1")
    crop(tmp / "full.png", args.out / "report.png", 0, 1500)
    text = html.read_text()
    # The curves and gradients, and one trial's section opened: the rest of the page hidden,
    # since a headless screenshot does not follow the page's scrolling.
    only = "main>section:not(#{0}){{display:none}}"
    curves = text.replace("</head>", "<style>" + only.format("curves") + "</style></head>")
    (tmp / "curves.html").write_text(curves)
    shoot((tmp / "curves.html").as_uri(), tmp / "curves.png", 1400, 760, tmp / "p2")
    crop(tmp / "curves.png", args.out / "report-curves.png", 130, 760)
    hide = only.format("trial-details") + f"details.trial:not(#trial-{args.trial}){{display:none}}"
    hide += "header,nav{display:none}"
    (tmp / "trial.html").write_text(text.replace("</head>", f"<style>{hide}</style></head>"))
    shoot((tmp / "trial.html").as_uri() + f"#trial-{args.trial}", tmp / "trial.png", 1400, 2600, tmp / "p3")
    crop(tmp / "trial.png", args.out / "report-trial.png", 0, 1950)
    dashboard(ref, args.out / "dashboard.png", tmp)
    ref.store.close()
    print(f"wrote {', '.join(sorted(p.name for p in args.out.glob('*.png')))} to {args.out}")


def dashboard(ref, png: Path, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    import optuna

    from fnosweep.testing.dashboard import served_dashboard
    from fnosweep.view.dashboard import publish_study, study_url

    url = ref.store.url
    if url.startswith("sqlite:///"):  # publish into a copy: the study itself stays as the sweep left it
        copy = tmp / "study.db"
        with sqlite3.connect(url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        url = f"sqlite:///{copy}"
    from fnosweep.store import Store

    store = Store.open(url, create=False)
    study = optuna.load_study(study_name=ref.name, storage=url)
    publish_study(study, store, ref.name)
    store.close()
    with served_dashboard(url, wait_s=300) as port:
        page = study_url(url, ref.name, host="127.0.0.1", port=port)
        shoot(page, tmp / "dash.png", 1280, 3200, tmp / "p4")
        crop(tmp / "dash.png", png, 1220, 2695, left=60)  # fnosweep's figures, below Optuna's own


if __name__ == "__main__":
    main()
