"""``optbench --help`` read from the conf/ folders without Hydra: every group with its
options, the internal groups left out, the top-level settings and their defaults."""

from __future__ import annotations

from importlib.resources import files

from optbench import help as optbench_help


def test_group_options_are_the_yaml_files_of_each_folder_nested_groups_included(tmp_path):
    for path in ("optimizer/adam.yaml", "optimizer/sgd.yaml", "hydra/launcher/slurm.yaml",
                 "default_model/rosenbrock.yaml", "__pycache__/x.yaml", "config.yaml",
                 "optimizer/README.md"):  # fmt: skip
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    assert optbench_help.group_options(tmp_path) == {
        "hydra/launcher": ["slurm"], "optimizer": ["adam", "sgd"],
    }  # fmt: skip


def test_the_help_lists_every_group_and_the_top_level_defaults():
    text = optbench_help.help_text()
    groups = optbench_help.group_options(files("optbench.conf"))
    for group, options in groups.items():
        if group != "hydra/launcher":
            assert f"\n{group}: {', '.join(options)}\n" in text, group
    launchers = text.split("\nhydra/launcher: ", 1)[1].split("\n", 1)[0].split(", ")
    assert {"basic", "joblib", "ray"} <= set(launchers) and launchers == sorted(launchers)
    assert "default_model:" not in text and "schema/* groups" not in text
    assert "== Configuration groups ==" in text and "== Config ==" in text
    assert "\nseed: 0\nobjective: val_loss\n" in text


def test_print_help_prints_the_text_and_succeeds(capsys):
    assert optbench_help.print_help() == 0
    assert capsys.readouterr().out == optbench_help.help_text() + "\n"
