"""The services package: its re-exported names resolve, and importing it loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest

import staff_feed_tui.services as services_package
from staff_feed_tui.services.demo import shipped_data_dir


def test_every_exported_name_resolves_to_its_module() -> None:
    assert sorted(services_package.__all__) == sorted(services_package._EXPORTS)
    for name, module in services_package._EXPORTS.items():
        value = getattr(services_package, name)
        assert value.__module__ == f"staff_feed_tui.services.{module}", name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_use_case"):
        services_package.no_such_use_case  # noqa: B018


def test_importing_the_package_loads_no_orm() -> None:
    """The app imports light modules of `services` before its first paint: the package itself must stay light."""
    code = (
        "import sys, staff_feed_tui.services\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_shipped_demo_data_is_found_from_inside_the_package() -> None:
    assert (shipped_data_dir() / "demo_staff.csv").is_file()
    assert (shipped_data_dir() / "demo_conversations.json").is_file()
