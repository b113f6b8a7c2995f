"""Packaging beyond what pyproject.toml can say: ship book/data/ inside the wheel.

The chapters' trained weights and histories stay in ``book/data/`` (the training
scripts write them there); the wheel carries them as the package data
``rnncourse/_bookdata/``, which ``rnncourse.data.bookdata.path`` finds when the course
is installed rather than checked out (Colab, Binder). Everything else about the
package is in pyproject.toml.
"""

from setuptools import find_namespace_packages, find_packages, setup

# book/data and each of its folders, as data-only packages under rnncourse._bookdata
data = ["rnncourse._bookdata"] + [
    f"rnncourse._bookdata.{name}" for name in find_namespace_packages(where="book/data")
]

setup(
    packages=[*find_packages(include=["rnncourse", "rnncourse.*"]), *data],
    package_dir={"rnncourse._bookdata": "book/data"},
    package_data={name: ["*"] for name in data},
)
