"""Print the README's configuration reference, generated from the config dataclasses.

``python benchmarks/config_reference.py > /tmp/ref.md`` — the README section is pasted from it,
so a key's default and help text live in exactly one place (the dataclass field).
"""

from __future__ import annotations

from planseg.config import config_help
from planseg.export.evaluate import EvaluateConfig
from planseg.export.label_config import LabelConfig
from planseg.infer.config import SegmentConfig
from planseg.ingest.rasterize_config import RasterizeConfig
from planseg.synth.config import SynthConfig
from planseg.train.config import TrainConfig

COMMANDS = [("synth", SynthConfig), ("rasterize", RasterizeConfig), ("segment", SegmentConfig),
            ("label", LabelConfig),
            ("train", TrainConfig), ("evaluate", EvaluateConfig)]


def main() -> None:
    for name, cls in COMMANDS:
        print(f"#### `planseg {name}`\n\n| key | default | meaning |\n|---|---|---|")
        for key, default, text in config_help(cls):
            print(f"| `{key}` | `{default}` | {' '.join(text.split()).replace('|', '/')} |")
        print()


if __name__ == "__main__":
    main()
