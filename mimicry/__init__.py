"""mimicry: find the generator behind a draw history, with honest chance statistics."""


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the installed metadata when asked for: importlib.metadata
    # (and the email parser it loads) would be 40 ms of every command's start-up.
    if name != "__version__":
        raise AttributeError(f"module 'mimicry' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mimicry")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
