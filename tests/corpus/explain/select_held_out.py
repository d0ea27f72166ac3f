"""Mark the held-out reports of the corpus: 30 drawn at random, seeded, before any tuning.

Run once after collection (``python tests/corpus/explain/select_held_out.py``); it rewrites
``held_out = true`` lines in reports.toml. The draw depends only on the sorted report ids and
the seed, so anyone can check which reports were set aside and that they were not picked by
hand. Tuning looks only at the other reports; the held-out ones are reported in aggregate.
"""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

SEED = 15
HELD_OUT = 30
CORPUS = Path(__file__).with_name("reports.toml")


def held_out_ids(ids: list[str]) -> set[str]:
    """The seeded draw over the sorted ids."""
    return set(random.Random(SEED).sample(sorted(ids), HELD_OUT))


def main() -> None:
    text = CORPUS.read_text(encoding="utf-8")
    text = re.sub(r"\nheld_out = true\n", "\n", text)
    ids = [r["id"] for r in tomllib.loads(text)["report"]]
    chosen = held_out_ids(ids)
    out = []
    for line in text.splitlines(keepends=True):
        out.append(line)
        m = re.match(r'id = "([^"]+)"\n', line)
        if m and m.group(1) in chosen:
            out.append("held_out = true\n")
    CORPUS.write_text("".join(out), encoding="utf-8")
    print(f"{len(chosen)} of {len(ids)} reports held out (seed {SEED})")


if __name__ == "__main__":
    main()
