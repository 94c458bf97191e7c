"""Summarise py-spy speedscope profiles (``python -m bench --profile DIR``) as JSON.

    python -m bench.profile_summary DIR/ingest-*.speedscope.json [--top 25] [--match app/]

For each function: the share of the samples in which it is running (``self``)
and in which it is on the stack (``inclusive``), over all threads of all the
service's processes. Idle threads are not sampled (py-spy's default), so the
shares are of busy time (with ``--gil``, as ``--profile`` records: of Python time).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any


def summarise(paths: list[Path], top: int = 25, match: str = "") -> dict[str, Any]:
    """Top functions by inclusive and by self share of the samples in ``paths``."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        data = json.loads(path.read_text())
        frames = data["shared"]["frames"]
        names = [f"{f['name']} ({Path(f.get('file', '?')).name}:{f.get('line', '?')})"
                 for f in frames]
        files = [f.get("file", "") for f in frames]
        for profile in data["profiles"]:
            for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
                if not stack:
                    continue
                total += weight
                own[names[stack[-1]]] += weight
                for name in {names[i] for i in stack if match in files[i]}:
                    inclusive[name] += weight

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": name, "share": round(count / total, 3)}
                for name, count in counter.most_common(top)]

    return {"profiles": [str(p) for p in paths], "samples": total,
            "inclusive": share(inclusive), "self": share(own)}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("paths", nargs="+", type=Path)
    options.add_argument("--top", type=int, default=25)
    options.add_argument("--match", default="", help="inclusive: only frames whose file has this")
    args = options.parse_args()
    print(json.dumps(summarise(args.paths, args.top, args.match), indent=2))


if __name__ == "__main__":
    main()
