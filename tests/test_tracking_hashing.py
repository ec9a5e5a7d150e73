"""When two runs are the same run (optbench/tracking/hashing.py): the config hash, and the
one list of settings that do not change a result."""

from optbench.tracking import RESULT_NEUTRAL, config_hash, result_defining
from tests.conftest import compose_cfg


def test_config_hash_ignores_how_a_run_is_watched_but_not_what_it_computes():
    base = config_hash(compose_cfg())
    assert config_hash(compose_cfg("trainer.progress=false", "tracking.log_every=7")) == base
    assert config_hash(compose_cfg("run_name=x", "experiment_name=y")) == base
    assert config_hash(compose_cfg("seed=1")) != base
    assert config_hash(compose_cfg("trainer.max_iter=7")) != base


def test_result_defining_drops_exactly_the_result_neutral_settings():
    tree = {
        "experiment_name": "e",
        "run_name": "r",
        "tracking": {"uri": "x", "log_every": 5},
        "seed": 0,
        "trainer": {"progress": True, "skip_existing": False, "max_iter": 5},
    }
    assert result_defining(tree) == {"seed": 0, "trainer": {"max_iter": 5}}
    assert tree["trainer"]["progress"] is True  # the caller's tree is left as it was
    assert {key.split(".")[0] for key in RESULT_NEUTRAL} <= set(tree)


def test_a_setting_added_later_keeps_older_runs_hashes_at_its_old_value():
    """dataset.condition_number came after synthetic runs were recorded: at 1.0 (what they
    computed) the hash is the one they have; at another value it differs."""
    cfg = compose_cfg("dataset=synthetic")
    older = result_defining({**cfg_tree(cfg), "dataset": {
        k: v for k, v in cfg_tree(cfg)["dataset"].items() if k != "condition_number"}})  # fmt: skip
    assert result_defining(cfg_tree(cfg)) == older
    assert config_hash(compose_cfg("dataset=synthetic", "dataset.condition_number=10")) != (
        config_hash(cfg)
    )


def cfg_tree(cfg):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)


class LoggedConfig:
    """A store that holds one run's config.yaml."""

    def __init__(self, text: str):
        self.text = text

    def download_artifacts(self, run_id, path, folder):
        target = f"{folder}/{path}"
        with open(target, "w") as handle:
            handle.write(self.text)
        return target


def test_reproduce_compares_configs_without_the_same_settings(capsys):
    from omegaconf import OmegaConf

    from optbench.reproduce import _check_config

    def yaml_of(*overrides):
        return OmegaConf.to_yaml(compose_cfg(*overrides), resolve=True)

    logged = LoggedConfig(yaml_of("run_name=a", "tracking.uri=sqlite:///a.db"))
    _check_config(logged, "run", yaml_of("run_name=b", "trainer.progress=false"))
    assert "composes differently" not in capsys.readouterr().out
    _check_config(logged, "run", yaml_of("trainer.max_iter=7"))
    out = capsys.readouterr().out
    assert "composes differently" in out and "max_iter: 7" in out
