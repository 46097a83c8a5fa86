"""The config loader: file + flag overrides, every problem reported at once, resolved dump."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from planseg.config import config_help, load_config, write_resolved_config
from planseg.errors import ConfigError, ExitCode


@dataclass
class Section:
    use_boxes: bool = True
    weight: float = 1.0


@dataclass
class Example:
    dpi: float = field(default=150.0, metadata={"help": "render resolution"})
    workers: int | None = None
    crs: Literal["auto", "page", "pixel"] = "auto"
    formats: tuple[str, ...] = ("geojson", "coco")
    out: Path = Path("out")
    loss: Section = field(default_factory=Section)

    def problems(self) -> list[str]:
        return ["dpi: must be positive"] if self.dpi <= 0 else []


def test_defaults_without_file_or_flags() -> None:
    config = load_config(Example)
    assert config == Example()


def test_file_sets_values_and_flags_override(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("dpi: 300\nworkers: 3\nloss:\n  weight: 20\n")
    config = load_config(Example, path, {"dpi": 72, "workers": None, "loss.use_boxes": "false"})
    assert config.dpi == 72.0  # flag beats file
    assert config.workers == 3  # None means "flag not given"
    assert config.loss == Section(use_boxes=False, weight=20.0)


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('crs = "page"\nformats = ["coco"]\n[loss]\nweight = 2\n')
    config = load_config(Example, path)
    assert (config.crs, config.formats, config.loss.weight) == ("page", ("coco",), 2.0)


def test_every_problem_reported_at_once_naming_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("dpy: 3\nworkers: many\ncrs: utm\nloss:\n  wieght: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(Example, path)
    message = str(info.value)
    for expected in ("dpy: unknown key", "workers: expected an integer", "crs: 'utm' is not one",
                     "loss.wieght: unknown key", str(path)):
        assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == ExitCode.usage


def test_semantic_checks_run_after_types() -> None:
    with pytest.raises(ConfigError, match="dpi: must be positive"):
        load_config(Example, None, {"dpi": -1})


def test_non_mapping_and_broken_files_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "broken.yaml").write_text("dpi: [1,\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(Example, tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Example, tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(Example, tmp_path / "missing.yaml")


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(Example, None, {"dpi": 99, "out": "x/y"})
    write_resolved_config(config, tmp_path / "config.yaml")
    dumped = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert dumped["dpi"] == 99.0 and dumped["out"] == "x/y"
    assert load_config(Example, tmp_path / "config.yaml") == config


def test_config_help_lists_nested_keys() -> None:
    rows = {key: (default, text) for key, default, text in config_help(Example)}
    assert rows["dpi"] == ("150.0", "render resolution")
    assert "loss.use_boxes" in rows
