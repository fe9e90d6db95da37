"""mimicry: find the generator behind a draw history, with honest chance statistics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mimicry")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
