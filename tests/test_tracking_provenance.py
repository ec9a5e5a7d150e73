"""Where a run came from: its command line quoted for a shell, the source tags, the tags a
job starts with, the library versions and the installed packages."""

from __future__ import annotations

import platform
import shlex
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace as NS

from optbench import tags as tag
from optbench.tracking import provenance
from tests.conftest import compose_cfg


def test_the_command_line_is_quoted_to_paste_into_a_shell():
    args = ["optimizer=adam", "run_name=my run", "+x='a'"]
    line = provenance.command_line(args)
    assert line.startswith("optbench optimizer=adam 'run_name=my run' ")
    assert shlex.split(line) == ["optbench", *args]
    assert provenance.source_tags("optbench -m seed=0,1") == {
        tag.SOURCE_NAME: "optbench", tag.SOURCE_TYPE: "LOCAL", tag.NOTE: "optbench -m seed=0,1",
    }  # fmt: skip


def test_a_sweeps_description_says_where_its_report_is(tmp_path, monkeypatch):
    assert provenance.sweep_description("optbench -m seed=0,1", None) == "optbench -m seed=0,1"
    monkeypatch.chdir(tmp_path)
    assert provenance.sweep_description("optbench -m", Path("report")) == (
        f"optbench -m\n\nReport: {tmp_path / 'report'} (also this run's artifact report/index.html)"
    )


def test_a_custom_optimizer_is_labelled_by_its_class():
    assert provenance.optimizer_label(NS(name="adam")) == "adam"
    assert provenance.optimizer_label(NS(name="custom", target="mine:Sign")) == "custom:mine:Sign"


def test_a_jobs_tags_name_its_choices_versions_and_command_outside_hydra():
    cfg = compose_cfg("optimizer=saga", "seed=3")
    tags = provenance.run_tags(cfg, "sklearn")
    assert tags[tag.FRAMEWORK] == "sklearn" and tags[tag.SEED] == "3"
    assert tags[tag.OPTIMIZER] == "saga" and tags[tag.MODEL] == str(cfg.model.name)
    assert len(tags[tag.CONFIG_HASH]) > 0
    assert tags[tag.VERSION_PREFIX + "python"] == platform.python_version()
    assert tags[tag.VERSION_PREFIX + "numpy"] == metadata.version("numpy")
    assert tag.OVERRIDES not in tags  # no Hydra job: no overrides to record
    assert tags[tag.NOTE] == "optbench" and tags[tag.SOURCE_NAME] == "optbench"


def test_the_freeze_file_lists_every_installed_distribution_sorted(tmp_path):
    path = tmp_path / "requirements.txt"
    provenance.freeze_file().save(str(path))
    lines = path.read_text().splitlines()
    assert f"numpy=={metadata.version('numpy')}" in lines
    assert lines == sorted(lines, key=str.lower) and len(lines) == len(set(lines))
