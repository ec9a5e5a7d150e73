"""The tracking package's front (optbench/tracking/__init__.py): every public name is found in
the module the package docstring lists for it, imported on first use, and a name it does not
have fails as a missing attribute does."""

from __future__ import annotations

import importlib

import pytest

import optbench.tracking as tracking


def test_the_public_names_are_sorted_and_each_has_one_home():
    assert tracking.__all__ == sorted(tracking._HOMES)
    for home in set(tracking._HOMES.values()):
        assert f"- {home} " in tracking.__doc__, home  # each home is described there


@pytest.mark.parametrize("name", sorted(tracking._HOMES))
def test_each_name_is_the_object_of_its_home_module(name):
    home = importlib.import_module(f"optbench.tracking.{tracking._HOMES[name]}")
    assert getattr(tracking, name) is getattr(home, name)


def test_a_name_the_package_lacks_is_an_attribute_error():
    with pytest.raises(AttributeError) as missing:
        tracking.MlflowWritter  # noqa: B018 (the attribute access is the test)
    assert str(missing.value) == "module 'optbench.tracking' has no attribute 'MlflowWritter'"
    assert not hasattr(tracking, "helper_main")
    from optbench.tracking import MlflowWriter  # the from-import form goes the same way

    assert MlflowWriter.__module__ == "optbench.tracking.writer"
