"""keyclients: which kinds of key client move a company's growth?

The package reads like the pipeline it runs: ``ingest`` → ``panel`` → ``features`` →
``categories`` → ``growth`` → ``stats`` → ``report``, plus ``synth`` (synthetic client bases with
planted effects), ``config`` (paths, periods, the outcome registry) and ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keyclients")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
