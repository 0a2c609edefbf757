"""`--config FILE` for every verb: a YAML or JSON mapping of a stage's config fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jitteredge.errors import JitterEdgeError, first_line


def read_text_file(path: str | Path, kind: str) -> str:
    """The text of a file the user wrote (a config file, a manifest), UTF-8 with or without a BOM.

    Raises:
        JitterEdgeError: one line naming the file (``kind``: "config", "manifest") when it is missing
            or cannot be read as text.
    """
    p = Path(path)
    if not p.is_file():
        raise JitterEdgeError(f"{p}: no such {kind} file")
    try:
        return p.read_text(encoding="utf-8-sig")  # -sig: editors on Windows start files with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise JitterEdgeError(f"{p}: cannot read it as a text file ({type(exc).__name__})") from None


def read_config_file(path: str | Path, what: str = "settings") -> dict:
    """Read a YAML (.yaml/.yml, needs pyyaml) or JSON (.json) mapping; JitterEdgeError on any problem."""
    p = Path(path)
    text = read_text_file(p, "config")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ImportError:
        raise JitterEdgeError(f"{p}: reading YAML needs pyyaml, or use a .json file") from None
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        first = first_line(exc)
        raise JitterEdgeError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'YAML'} ({first})") from None
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, dict):
        raise JitterEdgeError(f"{p}: expected a mapping of {what}")
    return data


def _matches(value, kind: str) -> bool:
    """Does a value read from a config file fit the field annotation ``kind`` (a string such as
    "int", "float | None", "tuple[int, int]", "tuple[str, ...]")?"""
    kind = kind.strip()
    if kind.endswith("| None"):
        return value is None or _matches(value, kind[: -len("| None")])
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind.startswith("tuple[") and kind.endswith("]"):
        if not isinstance(value, (list, tuple)):
            return False
        inner = kind[len("tuple["):-1]
        if inner.endswith(", ..."):
            element = inner[: -len(", ...")]
            return all(_matches(v, element) for v in value)
        parts = [p.strip() for p in inner.split(",")]
        return len(parts) == len(value) and all(_matches(v, p) for v, p in zip(value, parts))
    return True  # a type this check does not know: left to the stage's own validation


def check_types(config_class, values: dict, where: str) -> None:
    """Refuse, with one line naming the key, a config file value of the wrong type for its field."""
    import dataclasses

    kinds = {f.name: str(f.type) for f in dataclasses.fields(config_class)}
    for key, value in values.items():
        if key in kinds and not _matches(value, kinds[key]):
            raise JitterEdgeError(f"{where}: {key} must be {kinds[key]}, got {value!r}")


def build_config(config_class, args=None, path: str | Path | None = None, *, renames: dict[str, str] | None = None,
                 what: str = "settings"):
    """One way from defaults, a config file and flags to a checked config, for every verb.

    An instance of the dataclass ``config_class``: its defaults, overridden by the values of the config
    file at ``path`` (YAML or JSON; unknown keys and values of the wrong type are refused with one line),
    overridden by the flags given in ``args``; then ``config_class.validate`` where it has one.

    Args:
        config_class: a dataclass. Optional hooks: ``file_values(values) -> values`` (a classmethod or
            staticmethod) turns a file's forms into field values before the type check (e.g. a comma
            list into a tuple); ``validate()`` refuses impossible values and may return a checked copy;
            ``validate(given=...)`` also receives the names of the fields set by flags (for rules such
            as "this flag only applies to that format").
        args: the flags: an argparse.Namespace or a mapping. A value of None (or an absent name) is
            "not given"; names pass through ``renames`` (flag dest -> field name); names that are not
            fields (``--json``, ``--config``...) are ignored.
        path: the config file, or None.
        renames: flag dest -> field name, for flags named differently from their field.
        what: how an error message names the file's entries ("export settings").

    A field whose type is a dataclass takes a mapping in the file (built the same way, recursively);
    a flag named "field.sub" (through ``renames``) sets one field of it, over the file's value.

    Raises:
        JitterEdgeError: unreadable file, unknown key, wrong type, or a value ``validate`` refuses
            (named by the file and its key when the value came from the file, see _name_the_file).
    """
    import dataclasses
    import inspect

    values = read_config_file(path, what) if path else {}
    where = str(path) if path else config_class.__name__
    from_file = _file_keys(config_class, values)
    values = file_config_values(config_class, values, where, what)
    given = _given_fields(config_class, args, renames or {})
    values.update({k: v for k, v in given.items() if "." not in k})
    _apply_nested(config_class, values, {k: v for k, v in given.items() if "." in k}, where)
    try:
        cfg = config_class(**values)
    except TypeError as exc:
        raise JitterEdgeError(f"{where}: {first_line(exc)}") from None
    validate = getattr(cfg, "validate", None)
    if validate is None:
        return cfg
    takes_given = "given" in inspect.signature(validate).parameters
    try:
        checked = validate(given=frozenset(given)) if takes_given else validate()
    except JitterEdgeError as exc:
        message = _name_the_file(str(exc), where, from_file - set(given), config_class, renames or {})
        raise JitterEdgeError(message) from None
    return checked if dataclasses.is_dataclass(checked) and isinstance(checked, config_class) else cfg


def file_config_values(config_class, values: dict, where: str, what: str = "settings") -> dict:
    """A config file's mapping -> checked keyword arguments of ``config_class`` (see build_config)."""
    import dataclasses
    import typing

    fields = {f.name: f for f in dataclasses.fields(config_class)}
    hook = getattr(config_class, "file_values", None)
    if hook is not None:
        try:
            values = dict(hook(dict(values)))
        except JitterEdgeError as exc:
            raise JitterEdgeError(f"{where}: {exc}") from None
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise JitterEdgeError(f"{where}: unknown {what} {unknown}")
    try:
        hints = typing.get_type_hints(config_class)
    except Exception:  # an annotation that does not resolve here: no nested configs then
        hints = {}
    nested = {}
    for key, value in list(values.items()):
        kind = hints.get(key)
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            sub = file_config_values(kind, value, f"{where}: {key}", what)
            try:
                nested[key] = kind(**sub)
            except TypeError as exc:
                raise JitterEdgeError(f"{where}: {key}: {first_line(exc)}") from None
            values.pop(key)
    check_types(config_class, values, where)
    for key, value in values.items():
        if str(fields[key].type).strip().startswith("tuple[") and isinstance(value, list):
            values[key] = _as_tuple(value)
    values.update(nested)
    return values


def _file_keys(config_class, values: dict) -> set[str]:
    """The fields a config file's mapping sets, nested ones as "sample.size_px" (after the
    ``file_values`` hook, which may move keys)."""
    hook = getattr(config_class, "file_values", None)
    if hook is not None:
        try:
            values = dict(hook(dict(values)))
        except JitterEdgeError:  # file_config_values refuses it, naming the file
            pass
    keys = set(values)
    keys.update(f"{key}.{sub}" for key, value in values.items() if isinstance(value, dict) for sub in value)
    return keys


_SUBJECT = re.compile(r"(?:--)?([A-Za-z][\w-]*)(?=[ :])")  # "--long-side 0: ...", "batch-size must ..."


def _name_the_file(message: str, where: str, from_file: set[str], config_class, renames: dict[str, str]) -> str:
    """A ``validate`` message starts with the flag (or field) it refuses; when that value came from the
    config file (``from_file``: its keys not overridden by flags), name the file and key instead:
    "--long-side 0: ..." -> "config.yaml: long_side 0: ...". Other messages are returned unchanged."""
    import dataclasses

    match = _SUBJECT.match(message)
    if not from_file or match is None:
        return message
    name = match.group(1).replace("-", "_")
    fields = {f.name for f in dataclasses.fields(config_class)}
    prefixed = [f for f in fields if f.startswith(name + "_")]  # --size -> size_px, --out -> out_dir
    key = name if name in fields else renames.get(name) or (prefixed[0] if len(prefixed) == 1 else None)
    if key not in from_file:
        return message
    return f"{where}: {key}{message[match.end():]}"


def _apply_nested(config_class, values: dict, dotted: dict, where: str) -> None:
    """Flags for fields of a nested config ("sample.size_px"): over the file's (or the default) value."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(config_class)}
    groups: dict[str, dict] = {}
    for key, value in dotted.items():
        name, _, sub = key.partition(".")
        groups.setdefault(name, {})[sub] = value
    for name, overrides in groups.items():
        base = values.get(name)
        if base is None:
            f = fields[name]
            base = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        try:
            values[name] = dataclasses.replace(base, **overrides)
        except (TypeError, ValueError) as exc:
            raise JitterEdgeError(f"{where}: {name}: {first_line(exc)}") from None


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def _given_fields(config_class, args, renames: dict[str, str]) -> dict:
    """The flags given, as field name -> value (None and non-field names left out)."""
    import dataclasses

    if args is None:
        return {}
    items = vars(args).items() if hasattr(args, "__dict__") and not isinstance(args, dict) else dict(args).items()
    names = {f.name for f in dataclasses.fields(config_class)}
    given = {}
    for dest, value in items:
        key = renames.get(dest, dest)
        if value is None or key.split(".")[0] not in names or dest.startswith("_"):
            continue
        given[key] = value
    return given
