#!/usr/bin/env python3
"""Check appveyor.yml, which cannot run here: it must parse, and have MSVC
Win32 and x64 jobs and a MinGW job that run ctest and build a consumer."""
import sys

import yaml


def main(path="appveyor.yml"):
    with open(path) as f:
        doc = yaml.safe_load(f)
    jobs = {j["job_name"]: j for j in doc["environment"]["matrix"]}
    need = {"msvc2022-x64": "x64", "msvc2022-win32": "Win32",
            "msvc2019-x64": "x64"}
    for name, arch in need.items():
        assert jobs[name]["ARCH"] == arch, f"{name}: ARCH {arch}"
    assert "mingw64-msys2" in jobs and "ubuntu" in jobs
    def flatten(node):
        if isinstance(node, dict):
            return "\n".join(flatten(v) for v in node.values())
        if isinstance(node, list):
            return "\n".join(flatten(v) for v in node)
        return str(node)

    scripts = {}
    for block in doc["for"]:
        text = flatten(block)
        for only in block["matrix"]["only"]:
            scripts[only["job_name"]] = text
    for name in jobs:
        assert name in scripts, f"{name} has no build block"
    for name in ("msvc2022-x64", "msvc2022-win32", "msvc2019-x64"):
        s = scripts[name]
        assert "ctest" in s and "find_package" in s, name
        assert '"ON", "OFF"' in s, f"{name}: shared and static"
        assert "vcpkg install cmocka" in s, name
    msys = open("tools/ci-msys2.sh").read()
    assert "ctest" in msys and "find_package" in msys
    assert "mingw-w64-x86_64-cmocka" in scripts["mingw64-msys2"]
    print(f"appveyor.yml: {len(jobs)} jobs, structure ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
