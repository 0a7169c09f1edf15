"""Type-check gate: strict modules must be clean; elsewhere the error count per module may only go down.

Usage: ``python .ci/mypy_ratchet.py`` (CI) or ``python .ci/mypy_ratchet.py --update`` (after fixing errors, to
lower the recorded counts). The baseline is ``.ci/mypy-baseline.json``: module -> number of mypy errors.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "mypy-baseline.json"
STRICT = re.compile(r"^src/openldn/(core/|zonal/|io/|registry\.py|exceptions\.py)")


def main() -> int:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True,
                          text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ": error:" in ln]
    counts = Counter(ln.split(":", 1)[0] for ln in lines)
    strict = [ln for ln in lines if STRICT.match(ln)]
    if "--update" in sys.argv:
        BASELINE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n")
        print(f"mypy baseline written: {sum(counts.values())} errors in {len(counts)} files")
        return 0
    base: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.is_file() else {}
    worse = {f: (n, base.get(f, 0)) for f, n in counts.items() if n > base.get(f, 0) and not STRICT.match(f)}
    for ln in strict:
        print(ln)
    for f, (n, b) in sorted(worse.items()):
        print(f"{f}: {n} mypy errors, baseline {b}: fix the new ones (python -m mypy {f})")
        for ln in lines:
            if ln.startswith(f + ":"):
                print("  " + ln)
    total = sum(counts.values())
    print(f"mypy: {len(strict)} errors in strict modules, {total} in all (baseline {sum(base.values())})")
    return 1 if strict or worse else 0


if __name__ == "__main__":
    sys.exit(main())
