"""Settings from the environment (``MIMICRY_*``), named like the CLI flags where both exist."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gpu_kernels.backends import default_kernel_cache
from mimicry.environment import default_home
from mimicry.ranking.health import HealthThresholds

#: Draws compared on each side of the window by the bidirectional check. Each matched draw cuts
#: the chance of a false survivor by a factor M, so a few dozen settle any question.
DEFAULT_EXTENSION_LIMIT = 64


#: The advisor's backends (``MIMICRY_LLM_BACKEND`` names one or a chain of them).
LLM_BACKENDS = ("local", "http", "heuristic")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMICRY_", env_nested_delimiter="__")

    #: Where the embedded store and local state live.
    home: Path = Field(default_factory=default_home)
    #: The store (default: a SQLite file under ``home``); PostgreSQL for a cluster.
    database_url: str | None = None
    #: Where the cpu backend keeps its specialised kernels and numba's compiled copies of them.
    kernel_cache: Path = Field(default_factory=default_kernel_cache)
    #: Sieve backend used when a command does not name one.
    backend: str = "cpu"
    #: Where the gpu backend runs its kernels: ``device`` (a CUDA or ROCm GPU through CuPy) or
    #: ``host`` (the same CUDA source compiled for this CPU by g++: what the tests run).
    gpu_target: Literal["device", "host"] = "device"
    #: The cpu backend's compiled (C) MT19937 seed prefilter; off (``0``), numba's runs instead
    #: (to measure what the C one buys, or where no C compiler may run).
    native_kernels: bool = True
    #: Candidates per chunk (None: the backend's default).
    chunk_size: int | None = Field(None, ge=1)
    #: Dask scheduler to send chunks to (``tcp://host:8786``, ``tls://host:8786`` with
    #: ``dask_tls_dir``); unset: a LocalCluster per run.
    dask_address: str | None = None
    #: The rig's Dask certificates (``deployments/make-dask-certs.sh``): this process connects to
    #: a ``tls://`` scheduler with ``client.pem``, checked against ``ca.pem`` (mutual TLS).
    dask_tls_dir: Path | None = None
    #: LocalCluster size when no address is set; each worker gives numba cores // workers threads.
    dask_workers: int = Field(1, ge=1)
    #: Serve the LocalCluster's dashboard at this address (e.g. ``127.0.0.1:8787``); unset: none.
    dask_dashboard: str | None = None
    #: Seconds a sieve step waits with no Dask worker able to run its chunks before it fails
    #: saying so (docs/design.md §22).
    no_worker_seconds: float = Field(300.0, gt=0)
    #: K, the values in a predicted pool, when a command predicts without a run's request.
    pool_size: int = Field(10, ge=1)
    #: A search given no ``--seeds`` whose measured duration passes this many seconds does not
    #: start without ``--yes`` (no silent 2^64 sweeps).
    confirm_seconds: float = Field(3600.0, gt=0)
    #: Draws compared on each side of the window by the bidirectional check.
    extension_limit: int = Field(DEFAULT_EXTENSION_LIMIT, ge=0)
    #: Seconds between a running run's heartbeats in the store; a run silent for
    #: ``mimicry.store.runs.STALE_BEATS`` of them is marked crashed.
    heartbeat_seconds: float = Field(15.0, gt=0)
    #: The advisor's backend: ``local`` (in-process llama-cpp-python), ``http`` (an
    #: OpenAI-compatible server at ``llm_url``) or ``heuristic`` (rules only); or a chain tried
    #: in turn, ``local,http``: the local model first, the server when it gives no valid
    #: answer, then the rules (each attempt recorded).
    llm_backend: str = "local"
    #: A GGUF file for the local backend (default: the Gemma 3 270M model the ``llm`` extra
    #: installs).
    llm_model: Path | None = None
    #: The OpenAI-compatible server of the http backend (``http://127.0.0.1:8080``); checked at
    #: start (http or https, a host). Its userinfo still authenticates, but prefer
    #: ``llm_api_key``: what is printed or stored shows the URL redacted either way.
    llm_url: str | None = None
    #: The http backend's API key, sent as ``Authorization: Bearer <key>``; never printed.
    llm_api_key: SecretStr | None = None
    #: Sampling temperature of the advisor's model.
    llm_temperature: float = Field(0.7, ge=0.0, le=2.0)
    #: Seconds one answer of the advisor's model may take (the local model's generation; the
    #: http backend's whole attempt, connecting, headers and body). An advice makes at most two
    #: attempts, so it is bounded by twice this.
    llm_timeout_seconds: float = Field(60.0, gt=0)
    #: Where the training-health checks draw their lines (docs/design.md §20), one variable per
    #: field: ``MIMICRY_HEALTH__LEARN_MARGIN=0.02``.
    health: HealthThresholds = HealthThresholds()
    #: Where every ranked run writes TensorBoard event files of its training (for a person; the
    #: ``tensorboard`` extra); unset: none. A run's ``--tensorboard`` names its own.
    tensorboard_dir: Path | None = None

    @field_validator("home")
    @classmethod
    def _home_is_a_folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file; expected a folder for the store")
        return value

    @field_validator("dask_tls_dir")
    @classmethod
    def _dask_tls_dir(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        missing = [
            name
            for name in ("ca.pem", "client.pem", "client-key.pem")
            if not (value / name).is_file()
        ]
        if missing:
            raise ValueError(
                f"{value} has no {', '.join(missing)}; expected the folder of "
                "deployments/make-dask-certs.sh"
            )
        return value

    @model_validator(mode="after")
    def _dask_tls_address(self) -> Settings:
        """A ``tls://`` scheduler needs the certificates, and certificates a ``tls://``
        scheduler: either alone would fail at the first run, not here."""
        tls = (self.dask_address or "").startswith("tls://")
        if tls and self.dask_tls_dir is None:
            raise ValueError(
                "MIMICRY_DASK_ADDRESS is a tls:// scheduler; set MIMICRY_DASK_TLS_DIR to the "
                "folder of its certificates"
            )
        if self.dask_tls_dir is not None and not tls:
            raise ValueError(
                "MIMICRY_DASK_TLS_DIR is set; MIMICRY_DASK_ADDRESS must be the tls://HOST:PORT "
                "of the scheduler"
            )
        return self

    def dask_security(self):
        """The Dask ``Security`` of this process's client: mutual TLS with the rig's
        certificates, or None (a plain ``tcp://`` scheduler, or a LocalCluster)."""
        if self.dask_tls_dir is None:
            return None
        from distributed.security import Security

        folder = self.dask_tls_dir
        return Security(
            tls_ca_file=str(folder / "ca.pem"),
            tls_client_cert=str(folder / "client.pem"),
            tls_client_key=str(folder / "client-key.pem"),
            require_encryption=True,
        )

    @field_validator("tensorboard_dir")
    @classmethod
    def _tensorboard_dir(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        from mimicry.render.tensorboard import require_tensorboard

        require_tensorboard()
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file; expected a folder for the event files")
        return value

    @field_validator("backend")
    @classmethod
    def _backend_is_known(cls, value: str) -> str:
        """A backend this build has, so that a typo is refused by every command at start (not
        taken for a ``--backend`` flag by the commands that sieve, and ignored by the rest)."""
        from gpu_kernels.backends import BACKEND_NAMES

        if value not in BACKEND_NAMES:
            raise ValueError(f"expected one of {', '.join(BACKEND_NAMES)}")
        return value

    @field_validator("llm_backend")
    @classmethod
    def _llm_backend(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",")]
        expected = (
            "expected local, http or heuristic, or a chain of them tried in turn such as local,http"
        )
        if not all(name in LLM_BACKENDS for name in names) or len(set(names)) != len(names):
            raise ValueError(expected)
        if "heuristic" in names[:-1]:
            raise ValueError(f"{expected}; heuristic always answers, so it can only come last")
        return ",".join(names)

    @property
    def llm_backends(self) -> tuple[str, ...]:
        """The advisor's backends, in the order they are tried."""
        return tuple(self.llm_backend.split(","))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        """A URL SQLAlchemy can read (``postgresql+psycopg://user@host/db``); whether its driver
        is installed is the store's to say when it connects."""
        if value is None:
            return value
        from mimicry.store.location import check_database_url

        check_database_url(value)
        return value

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        """An http or https URL with a host that httpx can send to, so that a typo is one
        sentence at start instead of a failed advice on every WATCHER tick (fail closed)."""
        if value is None or not value.strip():
            return None  # unset, as an empty variable means elsewhere
        import httpx

        expected = "expected an http or https URL with a host, such as http://127.0.0.1:8080"
        if not value.isprintable() or any(ch.isspace() for ch in value):
            raise ValueError(expected)  # httpx would take "http://a b" as host "a b"
        try:
            url = httpx.URL(value)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise ValueError(expected) from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(expected)
        return value


class SettingsError(ValueError):
    """A ``MIMICRY_*`` variable that cannot be used; the message names it."""


def settings_error(error) -> SettingsError:
    """One sentence for pydantic's error about the settings, naming the variable."""
    first = error.errors()[0]
    # A nested field's variable joins its path with "__" (MIMICRY_HEALTH__LEARN_MARGIN).
    path = "__".join(str(part) for part in first["loc"] if isinstance(part, str))
    variable = "MIMICRY_" + path.upper() if path else "MIMICRY_*"
    message = first["msg"].removeprefix("Value error, ")
    if not path:  # a rule across variables: its message names them
        return SettingsError(message)
    given = first.get("input")
    if variable.endswith("_URL") and isinstance(given, str):
        from mimicry.redaction import redact_url

        given = redact_url(given)  # a URL's password is never echoed
    elif variable.endswith("_KEY"):
        given = "***"
    return SettingsError(f"{variable}: {message} (got {given!r})")


@cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment once (the CLI, a flow run or a
    Dask worker reads them at its top and passes values down); :class:`SettingsError` names a
    variable that cannot be used."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as error:
        raise settings_error(error) from None


def sieve_backend(name: str):
    """The sieve backend ``name`` as this process's settings configure it (its kernel cache,
    the gpu target, the compiled prefilter):
    the one place the domain turns a backend's name into a running backend."""
    settings = get_settings()
    return _process_backend(
        name, settings.kernel_cache, settings.gpu_target, settings.native_kernels
    )


@cache
def _process_backend(name: str, kernel_cache: Path, gpu_target: str, native_kernels: bool):
    """One backend per process and configuration, started once: a Dask worker's chunks share
    it (the gpu backend finds its device and builds its CuPy target once, not per chunk; each
    chunk thread keeps its own stream). A backend that cannot start is not kept: the next
    chunk tries again."""
    from gpu_kernels.backends import get_backend

    return get_backend(
        name, kernel_cache=kernel_cache, gpu_target=gpu_target, native_kernels=native_kernels
    )
