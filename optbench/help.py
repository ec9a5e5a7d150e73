"""``optbench --help`` without Hydra: the header and footer of conf/config.yaml's hydra.help,
the options of each config group as the conf/ folders list them, and the top-level settings.

Hydra's own help builds a config repository per group and deep-copies the schema store each
time (about 2 s here, Hydra issue #1543); reading the folders takes milliseconds. With
overrides or --config-dir, ``optbench ... --help`` still goes to Hydra, which composes them."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

# groups that hold no user options (default_model: the model a 2-D function dataset picks)
INTERNAL_GROUPS = ("default_model",)
TOP_LEVEL = ("seed", "objective", "experiment_name", "run_name", "trainer", "tracking")


def group_options(root: Any) -> dict[str, list[str]]:
    """group -> its options: the .yaml files under each folder of ``root`` (nested groups as
    hydra/launcher)."""
    found: dict[str, list[str]] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir() and not entry.name.startswith("__"):
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".yaml") and prefix:
                found.setdefault(prefix.rstrip("/"), []).append(entry.name.removesuffix(".yaml"))

    walk(root, "")
    return {g: sorted(o) for g, o in sorted(found.items()) if g not in INTERNAL_GROUPS}


def help_text() -> str:
    import yaml

    conf = files("optbench.conf")
    config = yaml.safe_load((conf / "config.yaml").read_text())
    help_conf = config["hydra"]["help"]
    groups = group_options(conf)
    groups.setdefault("hydra/launcher", []).extend(["basic", "joblib", "ray"])
    lines = [help_conf["header"].rstrip(), "", "== Configuration groups ==",
             "Compose your configuration from those groups (group=option)", ""]  # fmt: skip
    lines += [f"{group}: {', '.join(sorted(set(options)))}" for group, options in groups.items()]
    settings = {k: config[k] for k in TOP_LEVEL if k in config}
    lines += ["", "== Config ==",
              "Override anything in the config (foo.bar=value); the top-level settings and their "
              "defaults are below. `optbench --cfg job [overrides]` prints the whole resolved "
              "config, groups included.", "",
              yaml.safe_dump(settings, sort_keys=False).rstrip(), "", help_conf["footer"].rstrip()]  # fmt: skip
    return "\n".join(lines).replace(
        "(The schema/* groups are the validation schemas the options extend; default_model is\n"
        "the model a 2-D function dataset picks.)\n",
        "",
    )


def print_help() -> int:
    print(help_text())
    return 0
