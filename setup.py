"""keras_emojigan: GANs for small image sets, emoji first (TensorFlow / Keras 3)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "keras_emojigan" / "__init__.py").read_text())[1]

setup(
    name="keras_emojigan",
    version=VERSION,
    description="Train, compare, export and serve GANs on small image sets (emoji first).",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0 (code); CC-BY-SA-4.0 (embedded emoji-faces data set)",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["keras_emojigan", "keras_emojigan.*"]),
    package_data={"keras_emojigan.data": ["emoji_faces/*.npz", "emoji_faces/*.csv", "emoji_faces/*.md"],
                  "keras_emojigan.models": ["emoji_classifier.weights.h5", "emoji_classifier.classes.txt",
                                            "emoji_classifier.report.json"],
                  "keras_emojigan.serving": ["gallery.html"]},
    # Ranges: the versions tested here (TF 2.21.0, Keras 3.15.1, TF-GAN 2.1.0, NumPy 2.4,
    # Pillow 13, click 8.5, TensorBoard 2.21, Matplotlib 3.11, aiohttp 3.14) and what they are known
    # to allow. playwright (dev) drives the system's Chromium in the gallery test; it downloads no browser.
    install_requires=[
        "tensorflow>=2.20,<2.22",
        "keras>=3.10,<4",
        "tensorflow-gan==2.1.*",
        "numpy>=1.26,<3",
        "pillow>=10.1,<14",
        "click>=8.1,<9",
        "tensorboard>=2.20,<2.22",
        "matplotlib>=3.8,<4",
        "aiohttp>=3.9,<4",
        # TF-GAN's eval imports tensorflow-hub, which imports pkg_resources: gone from setuptools 81
        # (installing torch, for example, pulls setuptools 84 and breaks every metric).
        "setuptools<81",
    ],
    extras_require={
        "dev": ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "ruff>=0.6", "import-linter>=2.1,<3", "tox>=4",
                "playwright>=1.40,<2"],
        "data": ["resvg-py>=0.5,<0.6", "fonttools>=4.40"],
    },
    entry_points={"console_scripts": ["emojigan=keras_emojigan.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
