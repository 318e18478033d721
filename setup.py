"""Packages of the wheel; everything else is in setup.cfg.

The top-level migrations/ directory is shipped inside the hub package as hub.migrations,
so an installed hub finds its schema without the checkout (see hub.config.migrations_dir).
hub's data directories (templates, static) are listed as namespace packages because
setuptools wants every directory that holds package data to be a listed package.
"""
import sys

from setuptools import find_namespace_packages, setup

packages = find_namespace_packages(include=["hub", "hub.*", "connectors", "connectors.*"],
                                   exclude=["*.__pycache__"])
package_dir = {"": "."}
if "editable_wheel" not in sys.argv:
    # An editable install runs from the checkout, where migrations/ sits beside hub/; left
    # unmapped there, setuptools links the checkout with a plain .pth file.
    packages += ["hub.migrations", "hub.migrations.versions"]
    package_dir["hub.migrations"] = "migrations"

setup(packages=packages, package_dir=package_dir)
