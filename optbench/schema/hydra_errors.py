"""Hydra's and OmegaConf's composition errors as one line with the closest valid names.

Hydra prints 6-28 lines for a typo on the command line (the options one per line, its search
path, a hint about HYDRA_FULL_ERROR) and exits 1; optbench's own refusals are one line and
exit 2. ``explain`` turns the first kind into the second: which override, what was wrong,
"did you mean ...?"."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Sequence

GROUPS_NOTE = "a group (dataset, model, optimizer, ...) or a key (seed, trainer.max_iter, ...)"


def closest(word: str, options: Sequence[str], n: int = 3) -> list[str]:
    """The options nearest to ``word``; a case-insensitive match comes first."""
    exact = [o for o in options if o.lower() == word.lower()]
    if exact:
        return exact[:1]
    near = difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=n, cutoff=0.6)
    by_lower = {o.lower(): o for o in options}
    return list(dict.fromkeys([*exact, *(by_lower[m] for m in near)]))[:n]


def _did_you_mean(key: str, names: list[str]) -> str:
    if not names:
        return ""
    return " did you mean " + " or ".join(f"{key}{n}" for n in names) + "?"


def explain(exc: BaseException) -> str:
    """One line for a composition error (the CLI prints it after 'error: ')."""
    from hydra.errors import MissingConfigException

    cause = exc.__cause__
    text = str(exc) if cause is None else f"{exc}\n{cause}"
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file:
        return _missing_option(exc.missing_cfg_file, list(exc.options or []), text)
    ambiguous = re.match(r"Ambiguous value for argument '([^']+)'", text)
    if ambiguous:
        override = ambiguous.group(1)
        return (
            f"{override} gives several values: a sweep needs -m (optbench -m {override}); "
            f"a list is key=[a,b]; a string with a comma is quoted: key='a,b'."
        )
    unknown = re.search(r"Could not override '([^']+)'", text) or re.search(
        r"Key '([^']+)' (?:is )?not in", text
    )
    if unknown and "not in" in text:
        return _unknown_key(_full_key(text) or unknown.group(1), _object_type(text))
    merging = re.match(r"Error merging override (\S+)", text)
    if merging:
        return f"{merging.group(1)} is not allowed: {_first_line(str(cause or exc))}."
    return _first_line(text.split("Config search path:")[0]).removeprefix("In 'config': ")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else text.strip()).rstrip(".")


def _object_type(text: str) -> str | None:
    found = re.search(r"object_type=(\w+)", text)
    return found.group(1) if found else None


def _full_key(text: str) -> str | None:
    found = re.search(r"full_key: (\S+)", text)
    return found.group(1) if found else None


def _missing_option(missing: str, options: list[str], text: str) -> str:
    """``optimizer/adma`` (a group option that does not exist), or a whole unknown group."""
    group, _, option = missing.rpartition("/")
    if not group:  # '+experiment' without a group folder, or a primary config
        return _first_line(text).removeprefix("In 'config': ")
    if not options:
        return f"{group}={option}: there is no config group {group!r}."
    names = closest(option, options)
    return (
        f"{group}={option} is not an option of {group};{_did_you_mean(f'{group}=', names)} "
        f"{group} takes: {', '.join(options)}."
    ).replace(";  ", "; ")


def _unknown_key(full_key: str, object_type: str | None) -> str:
    """``optimiser`` or ``trainer.max_itr``: a key the config does not have."""
    parent, _, name = full_key.rpartition(".")
    known = _known_keys(parent) or _fields_of(object_type)
    where = f"{parent} accepts" if parent else "the top level accepts"
    names = closest(name, known)
    prefix = f"{parent}." if parent else ""
    if not known:
        return f"{full_key} is not a known key; name {GROUPS_NOTE}."
    hint = _did_you_mean(prefix, names).strip()
    return (
        f"{full_key} is not a known key{'; ' + hint if hint else ''} ({where}: {', '.join(known)})."
    )


def _fields_of(schema_name: str | None) -> list[str]:
    """The fields of the schema class named in OmegaConf's message: a group option's (as
    AdamConfig for optimizer=adam) or a nested node's (HeadConfig for model.head)."""
    import optbench.schema
    from optbench.schema.config import SCHEMAS

    options = {s.__name__: s for schemas in SCHEMAS.values() for s in schemas.values()}
    schema = options.get(schema_name or "", getattr(optbench.schema, schema_name or "", None))
    return [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else []


def _known_keys(parent: str) -> list[str]:
    """The keys the schema gives the node at dotted path ``parent`` ('' for the top level);
    empty where the node's schema depends on the option chosen (a group's keys)."""
    from optbench.schema.config import Config

    schema: typing.Any = Config
    for part in filter(None, parent.split(".")):
        hints = typing.get_type_hints(schema) if dataclasses.is_dataclass(schema) else {}
        schema = hints.get(part)
        if schema is None:
            return []
    if not dataclasses.is_dataclass(schema):
        return []
    return [f.name for f in dataclasses.fields(schema)]
