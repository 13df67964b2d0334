"""Test setup: the kernels under test are imported from this directory; pytester for the plugin."""

pytest_plugins = ["pytester"]
