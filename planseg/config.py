"""Typed configuration: dataclasses loaded from YAML/TOML, overridden by flags, checked at once.

Each command has one ``@dataclass`` config. A file sets values, command-line flags override
them (``None`` means "flag not given"), unknown keys and bad values are all collected and
raised as one :class:`ConfigError` naming every key. Nested dataclass fields are sections
(``prompts.use_boxes``). A config class may define ``problems() -> list[str]`` for checks
that involve several fields. The resolved config is written beside every output.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from planseg.errors import ConfigError
from planseg.fsio import atomic_write_text

T = TypeVar("T")


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file ({exc.strerror})", path=path) from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file is not valid {path.suffix[1:].upper()}: {exc}",
                          path=path) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config file must contain a mapping of keys to values", path=path)
    return data


def load_config(cls: type[T], file: Path | None = None,
                overrides: Mapping[str, Any] | None = None) -> T:
    """Build ``cls`` from an optional config file and flag overrides (dotted keys allowed).

    Raises :class:`ConfigError` listing every unknown key and bad value at once.
    """
    values: dict[str, Any] = read_config_file(file) if file is not None else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(values, key, value)
    problems: list[str] = []
    config = _build(cls, values, "", problems)
    if not problems:
        problems.extend(_semantic_problems(config))
    if problems:
        where = f" (from {file})" if file is not None else ""
        raise ConfigError(f"invalid configuration{where}: " + "; ".join(problems))
    return config


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain-data view of a config dataclass (paths as strings, tuples as lists)."""
    return _plain(dataclasses.asdict(config))


def write_resolved_config(config: Any, path: Path) -> None:
    """Write the resolved config as YAML, atomically, so every output says how it was made."""
    atomic_write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))


def config_help(cls: type) -> list[tuple[str, str, str]]:
    """(dotted key, default, help) rows for the README's configuration reference."""
    rows: list[tuple[str, str, str]] = []
    for field in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[field.name]
        if dataclasses.is_dataclass(hint):
            rows += [(f"{field.name}.{k}", d, h) for k, d, h in config_help(hint)]
            continue
        default = field.default if field.default is not dataclasses.MISSING else (
            field.default_factory() if field.default_factory is not dataclasses.MISSING else "")
        rows.append((field.name, repr(_plain(default)), field.metadata.get("help", "")))
    return rows


def _set_dotted(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _build(cls: type, values: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            problems.append(f"{prefix}{key}: unknown key (known: {', '.join(sorted(fields))})")
    kwargs: dict[str, Any] = {}
    for name in fields:
        if name not in values:
            continue
        hint, value, dotted = hints[name], values[name], f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                problems.append(f"{dotted}: expected a section of keys, got {value!r}")
                continue
            kwargs[name] = _build(hint, value, f"{dotted}.", problems)
            continue
        try:
            kwargs[name] = _coerce(value, hint)
        except (TypeError, ValueError) as exc:
            problems.append(f"{dotted}: {exc}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(f"{prefix or cls.__name__}: {exc}")
        return None


def _semantic_problems(config: Any) -> list[str]:
    found = list(getattr(config, "problems", lambda: [])())
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            found += [f"{field.name}.{p}" for p in _semantic_problems(value)]
    return found


def _coerce(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(" or ".join(errors))
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, args))}")
        return value
    if origin in (list, tuple):
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        return origin(_coerce(v, args[0]) for v in items)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"expected true/false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected an integer, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ValueError(f"expected a path, got {value!r}")
        return Path(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"expected text, got {value!r}")
        return str(value)
    if hint is Any or hint is dict or origin is dict:
        return value
    raise TypeError(f"unsupported config type {hint!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
