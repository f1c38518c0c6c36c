"""The installed version of pytext-psych (``0+unknown`` when run from a source tree)."""

from importlib import metadata

try:
    VERSION = metadata.version("pytext-psych")
except metadata.PackageNotFoundError:  # running from a source tree
    VERSION = "0+unknown"
