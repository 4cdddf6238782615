#!/usr/bin/env python3
"""The browser bundle's size, as `make bench` prints it.

The WASM is split (`cargo leptos --split`): the app's frame, loaded first by every page, and one
chunk per area of the dashboard (keys, team, ways in), loaded when first visited with the chunks it
shares. The budget (300 KB gzip, JS included) is for what every page loads before anything else.

    end2end/bundle-size.py [SITE_PKG_DIR] [--html-bytes N]

With --html-bytes (the /keys page as transferred), also prints the bytes of a first load of /keys:
the page, the stylesheet, the scripts, the frame and the keys area, each as the server sends it to
a browser that accepts brotli.
"""
import glob
import gzip
import json
import os
import sys

BUDGET_KB = 300


def gz(path):
    with open(path, "rb") as f:
        return len(gzip.compress(f.read(), 9))


def one(pattern):
    found = [p for p in glob.glob(pattern) if not p.endswith((".gz", ".br"))]
    if len(found) != 1:
        sys.exit(f"expected one file for {pattern}, found {found}")
    return found[0]


def sent(path):
    """Bytes on the wire for a browser that accepts brotli: the precompressed copy when there is one."""
    return os.path.getsize(path + ".br") if os.path.exists(path + ".br") else os.path.getsize(path)


def main():
    args = sys.argv[1:]
    html = None
    if "--html-bytes" in args:
        i = args.index("--html-bytes")
        html = int(args[i + 1])
        del args[i : i + 2]
    pkg = args[0] if args else "target/site/pkg"
    frame = one(f"{pkg}/keyward.*.wasm")
    scripts = [p for p in glob.glob(f"{pkg}/*.js")]
    css = one(f"{pkg}/keyward.*.css")
    with open(one(f"{pkg}/__wasm_split_manifest.*.json")) as f:
        areas = json.load(f)

    first = gz(frame) + sum(gz(p) for p in scripts)
    verdict = "within" if first <= BUDGET_KB * 1024 else "OVER"
    print(
        f"WASM bundle loaded first by every page: {first // 1024} KB gzip "
        f"({gz(frame) // 1024} KB WASM + {sum(gz(p) for p in scripts) // 1024} KB JS), "
        f"{verdict} the {BUDGET_KB} KB budget"
    )
    per_area = []
    for name, chunks in sorted(areas.items()):
        size = sum(gz(f"{pkg}/{c}.wasm") for c in chunks)
        per_area.append(f"{name.rsplit('_', 1)[0]} {size // 1024} KB")
    print("  then, on a first visit to an area (with the chunks it shares): " + ", ".join(per_area) + " gzip")
    everything = [p for p in glob.glob(f"{pkg}/*.wasm")]
    print(
        f"  all the WASM: {sum(gz(p) for p in everything) // 1024} KB gzip, "
        f"{sum(os.path.getsize(p) for p in everything) // 1024} KB raw, in {len(everything)} files"
    )
    if html is not None:
        keys = next(chunks for name, chunks in areas.items() if name.startswith("keys_area"))
        files = [frame, css, *scripts, *(f"{pkg}/{c}.wasm" for c in keys)]
        total = html + sum(sent(p) for p in files)
        print(
            f"First load of /keys as transferred (brotli): {total // 1024} KB: page {html // 1024} KB, "
            f"stylesheet, scripts and WASM {sum(sent(p) for p in files) // 1024} KB in {len(files)} files"
        )
    return 0 if verdict == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
