#!/usr/bin/env python3
"""Check appveyor.yml, which cannot run here, for the mistakes that make a
first real run fail.

It must parse; have MSVC x64 and Win32 jobs, a MinGW job and an Ubuntu job;
the Windows jobs must build shared and static, run ctest and build a
find_package consumer, the Ubuntu job run the dev workflow. Beyond the
structure, each check below is one way a first run has failed elsewhere:

- stale pacman database: MSYS2 installs from the image's package database
  unless "pacman -Syuu" runs (twice: the first may only update pacman)
  before any "pacman -S" (404s, keyring errors);
- unpinned CMocka for MSVC: "vcpkg install" without a vcpkg.json that has
  a builtin-baseline installs whatever port the image's vcpkg checkout
  has; a downloaded archive must be pinned by version and SHA-256;
- a shared cache: a cache directory used by jobs on different images (or
  architectures) must be named per job (%job_name% or the image);
- CMake < 3.25 on Ubuntu: CMakePresets.json needs 3.25, apt on Ubuntu
  22.04 gives 3.22; the Ubuntu script must get 3.25+ and check it;
- $ErrorActionPreference = "Stop" in PowerShell that runs native
  commands: Windows PowerShell then fails on any stderr line;
- Debug and Release: the MSVC jobs must build and test both.

Scripts that a job runs (tools/*.sh, tools/*.ps1) are read as part of it.
Exit status 1 with one line per problem.

Usage: tools/check-appveyor.py [appveyor.yml]
"""
import os
import re
import sys

import yaml

MSVC_JOBS = {"msvc2022-x64": "x64", "msvc2022-win32": "Win32",
             "msvc2019-x64": "x64"}
SCRIPT_REF = re.compile(r"tools[/\\][\w.-]+\.(?:sh|ps1)")


def flatten(node):
    if isinstance(node, dict):
        return "\n".join(flatten(v) for v in node.values())
    if isinstance(node, list):
        return "\n".join(flatten(v) for v in node)
    return str(node)


def with_scripts(text, root):
    """text plus the contents of the repository scripts it runs."""
    parts = [text]
    for ref in sorted(set(SCRIPT_REF.findall(text))):
        path = os.path.join(root, ref.replace("\\", "/"))
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                parts.append(f.read())
        else:
            parts.append(f"<missing script {ref}>")
    return "\n".join(parts)


def check(path="appveyor.yml"):
    root = os.path.dirname(os.path.abspath(path))
    problems = []
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    jobs = {j["job_name"]: j for j in doc["environment"]["matrix"]}
    for name, arch in MSVC_JOBS.items():
        if jobs.get(name, {}).get("ARCH") != arch:
            problems.append(f"{name}: needs ARCH {arch}")
    for name in ("mingw64-msys2", "ubuntu"):
        if name not in jobs:
            problems.append(f"no {name} job")

    blocks = {}
    for block in doc.get("for", []):
        names = [o["job_name"] for o in block["matrix"]["only"]]
        for name in names:
            blocks[name] = block
        text = with_scripts(flatten(block), root)
        images = {jobs.get(n, {}).get("APPVEYOR_BUILD_WORKER_IMAGE")
                  for n in names}
        arches = {jobs.get(n, {}).get("ARCH") for n in names}
        for entry in block.get("cache", []):
            where = str(entry).split("->")[0]
            if (len(names) > 1 and (len(images) > 1 or len(arches) > 1) and
                    not re.search(r"%(job_name|APPVEYOR_BUILD_WORKER_IMAGE|"
                                  r"APPVEYOR_JOB_NAME)%", where)):
                problems.append(f"cache {where.strip()} is shared by jobs on "
                                f"different images/architectures "
                                f"({', '.join(names)}): name it per job")
        # PowerShell's "Stop" turns a native command's stderr into failure.
        if re.search(r"\$ErrorActionPreference\s*=\s*['\"]Stop['\"]", text):
            problems.append(f"{', '.join(names)}: $ErrorActionPreference "
                            f"= \"Stop\" with native commands")
    scripts = {n: with_scripts(flatten(b), root) for n, b in blocks.items()}
    for name in jobs:
        if name not in scripts:
            problems.append(f"{name} has no build block")
    msys = scripts.get("mingw64-msys2", "")
    for name in list(MSVC_JOBS) + ["mingw64-msys2"]:
        s = scripts.get(name, "")
        if not ("ctest" in s and "find_package" in s):
            problems.append(f"{name}: must run ctest and a find_package "
                            f"consumer")
    if "--workflow --preset dev" not in scripts.get("ubuntu", ""):
        problems.append("ubuntu: must run the dev workflow (build and test)")

    # MSVC: shared and static, Debug and Release, a pinned CMocka.
    for name in MSVC_JOBS:
        s = scripts.get(name, "")
        if not re.search(r"\"ON\",\s*\"OFF\"|\"OFF\",\s*\"ON\"", s):
            problems.append(f"{name}: must build shared and static")
        if not ("Debug" in s and "Release" in s and
                re.search(r"\"Debug\",\s*\"Release\"", s)):
            problems.append(f"{name}: must build and test Debug and Release")
        if "vcpkg install" in s or "vcpkg.cmake" in s:
            manifest = os.path.join(root, "vcpkg.json")
            pinned = False
            if os.path.exists(manifest):
                with open(manifest, encoding="utf-8") as f:
                    pinned = '"builtin-baseline"' in f.read()
            if not pinned:
                problems.append(f"{name}: CMocka from vcpkg without a "
                                f"vcpkg.json builtin-baseline: unpinned")
        elif "cmocka" in s.lower():
            if not (re.search(r"cmocka-\$?\w*", s) and
                    re.search(r"\b[0-9a-f]{64}\b", s) and
                    "Get-FileHash" in s):
                problems.append(f"{name}: CMocka archive without a pinned "
                                f"version and SHA-256 check")
        else:
            problems.append(f"{name}: where does CMocka come from?")

    # MSYS2: bring the package database up to date first.
    if "mingw64-msys2" in blocks:
        steps = [flatten(x) for x in blocks["mingw64-msys2"].get("install", [])]
        syu = 0
        for step in steps:
            if re.search(r"pacman\b[^\n]*-Syuu", step):
                syu += 1
            elif re.search(r"pacman\b[^\n]*\s-S\b", step) and syu < 2:
                problems.append("mingw64-msys2: pacman -S before two "
                                "'pacman -Syuu' (stale package database)")
                break
        if "mingw-w64-x86_64-cmocka" not in msys:
            problems.append("mingw64-msys2: CMocka from MSYS2 not installed")

    # Ubuntu: CMake >= 3.25, really.
    s = scripts.get("ubuntu", "")
    if re.search(r"apt(-get)?\s+install[^\n]*\bcmake\b", s):
        problems.append("ubuntu: cmake from apt is 3.22 on Ubuntu 22.04; "
                        "the presets need 3.25")
    if not re.search(r"cmake\s*>=\s*3\.(2[5-9]|[3-9]\d)", s):
        problems.append("ubuntu: no CMake >= 3.25 is installed (pin one)")
    if "cmake --version" not in s:
        problems.append("ubuntu: the CMake version is never checked")
    return jobs, problems


def main(argv):
    jobs, problems = check(*argv[1:])
    for p in problems:
        print(f"appveyor.yml: {p}")
    if problems:
        return 1
    print(f"appveyor.yml: {len(jobs)} jobs, structure ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
