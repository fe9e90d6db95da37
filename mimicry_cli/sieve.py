"""``mimicry sieve`` and its companions: ``simulate``, ``bench``, ``families``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from gpu_kernels.job import MAX_CALL, JobFieldError, Mode
from gpu_kernels.projections import bound_problem
from mimicry.answers import SieveAnswer, SieveAnswers
from mimicry.draws import DrawFileError
from mimicry.draws.forms import in_program_form, read_codes
from mimicry.render import SURVIVOR_COLUMNS, plain_text, survivor_rows
from mimicry.requests import SieveSettings
from mimicry.search.estimate import Probe, rate_text
from mimicry.whole_files import written_whole
from mimicry_cli.common import (
    SURVIVOR_LAYOUT,
    ColumnFlag,
    DrawsFile,
    JsonFlag,
    Layout,
    SessionFlag,
    app,
    command_settings,
    fail,
    markdown_text,
    parse_range,
    print_table,
    stderr,
    terminal,
)
from mimicry_cli.request_flags import (
    BackendFlag,
    MaxMissesFlag,
    MinMatchesFlag,
    ModeFlag,
    OffsetsFlag,
    OptionalModulusFlag,
    PredictFlag,
    ProjectionFlag,
    SeedsFlag,
    SkipFlag,
    TopFlag,
    VariableSkipFlag,
    WindowFlag,
    WindowStartFlag,
    invalid_input,
    modulus_for,
)


@app.command()
def sieve(
    draws: DrawsFile,
    family: Annotated[
        list[str],
        typer.Option(
            help="Generator family (`mimicry families` lists them); repeat it to search several "
            "over the same seeds, mt19937 and php5_mt (PHP 7.1+ and 5.2.1-7.0) in one pass.",
            metavar="NAME",
        ),
    ],
    projection: ProjectionFlag = "mod",
    modulus: OptionalModulusFlag = None,
    session: SessionFlag = None,
    column: ColumnFlag = None,
    window: WindowFlag = None,
    window_start: WindowStartFlag = 0,
    seeds: SeedsFlag = None,
    offsets: OffsetsFlag = "0..0",
    skip: SkipFlag = "0..0",
    variable_skip: VariableSkipFlag = False,
    max_misses: MaxMissesFlag = None,
    min_matches: MinMatchesFlag = None,
    mode: ModeFlag = Mode.SEED,
    predict: PredictFlag = 0,
    top: TopFlag = 20,
    backend: BackendFlag = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="Start a search given no --seeds that will outlast MIMICRY_CONFIRM_SECONDS.",
        ),
    ] = False,
    hex_seeds: Annotated[bool, typer.Option("--hex", help="Show seeds and states in hex.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Sieve seeds or states of one family (or several) for the generator behind DRAWS."""
    from gpu_kernels.backends import BackendUnavailable
    from mimicry.search.sieve import run_sieves
    from mimicry.search.window import requested_config
    from mimicry.settings import sieve_backend

    families = list(dict.fromkeys(family))  # a family named twice is searched once
    moduli = {name: modulus_for(projection, modulus, name) for name in families}
    if len(set(moduli.values())) > 1:
        fail(
            "--family: families searched together must draw from the same modulus, and "
            + ", ".join(f"{name} has M = {value:,}" for name, value in moduli.items())
            + " under --projection "
            + projection
            + "; search them one at a time"
        )
    modulus = moduli[families[0]]
    for name in families:
        check_modulus(projection, modulus, name)
    try:
        # The draws as the program printed them, as their codes in [0, M) (mimicry.draws.forms).
        history = read_codes(draws, projection, modulus, session=session, column=column)
    except DrawFileError as error:
        fail(str(error))
    values = history.values
    # The same flags, rules and job builder as `mimicry run`, every value pinned.
    try:
        flags = SieveSettings(
            projection=projection,
            modulus=modulus,
            window=window,
            window_start=window_start,
            seeds=parse_range("--seeds", seeds, None),
            offsets=parse_range("--offsets", offsets, (0, 0)),
            skip=parse_range("--skip", skip, (0, 0)),
            variable_skip=variable_skip,
            max_misses=max_misses,
            min_matches=min_matches,
            mode=mode,
            backend=backend,
            predict=predict,
            top=top,
        ).resolved(command_settings())
        config = requested_config(len(values), flags)
        jobs = [config.job(values, name, flags, source=str(draws)) for name in families]
    except (ValidationError, JobFieldError) as error:
        fail(invalid_input(error))
    if len({job.candidate_range for job in jobs}) > 1:
        fail(
            "--family: families searched together must share their seed space, and "
            + ", ".join(
                f"{job.family} has {job.candidate_range[0]}..{job.candidate_range[1]}"
                for job in jobs
            )
            + "; give --seeds LO..HI or search them one at a time"
        )
    try:
        engine = sieve_backend(flags.backend)
    except (BackendUnavailable, ValueError) as error:
        fail(f"--backend: {error}")
    probe = announce_size(jobs, engine, named=seeds is not None, confirmed=yes)

    def run(progress=None, chunk_size=flags.chunk_size) -> list[SieveAnswer]:
        results = run_sieves(
            values,
            jobs,
            backend=engine,
            chunk_size=chunk_size,
            predict=predict,
            top=top,
            extension_limit=flags.extension_limit,
            progress=progress,
            sieved=probe.chunks if probe else None,
        )
        return [
            SieveAnswer(
                job=result.job,
                survivors=in_program_form(result.survivors, result.job.projection),
                stats=result.stats,
            )
            for result in results
        ]

    if as_json:
        answers = run()
        # One family: its answer, as always; several: each family's answer in turn.
        if len(answers) == 1:
            print(answers[0].model_dump_json())
        else:
            print(SieveAnswers(answers=answers).model_dump_json())
        return
    if not stderr.is_terminal:  # no bar to draw (a pipe, a log): the answer alone
        answers = run()
    else:
        with Progress(
            TextColumn("[bold]sieve[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            RateColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            names = ", ".join(job.family for job in jobs)
            task = bar.add_task(f"{names}/{projection}", total=jobs[0].candidate_count)
            answers = run(
                lambda done, total: bar.update(task, completed=done),
                chunk_size=progress_chunk_size(jobs, engine, flags.chunk_size),
            )
    for number, answer in enumerate(answers):
        if number:
            print()
        print_sieve_answer(answer, hex_seeds=hex_seeds)
    if len(answers) > 1:
        print()
        terminal().print(markdown_text(SieveAnswers(answers=answers).verdict))


def check_modulus(projection: str, modulus: int, family: str) -> None:
    """``--modulus`` against the projection: 2 to 2^31 where it takes a bound, its own range
    where it has one (checked before the file is read, in the job's words)."""
    from gpu_kernels.registry import get_family
    from mimicry.draws.forms import projection_or_none

    chosen = projection_or_none(projection)
    try:
        word_bits = get_family(family).word_bits
    except KeyError:
        word_bits = None  # the job reports the unknown family
    if chosen is None or word_bits is None or chosen.modulus_for(word_bits) is None:
        if problem := bound_problem(modulus):
            fail(f"--modulus {problem}")
        return
    problem = chosen.check(word_bits, modulus)
    if problem:
        fail(f"--projection: {problem}")


#: The chunks a search shown with a progress bar is split into, where its size allows: the bar
#: moves once a chunk, and Rich needs two moves to show the rate and the time left (a 2^27 search,
#: one chunk of the cpu backend's usual 2^30, went from 0 to 100 % with neither).
PROGRESS_CHUNKS = 16


def progress_chunk_size(jobs, engine, configured: int | None) -> int | None:
    """The chunk size of a search with a progress bar: ``configured`` (``MIMICRY_CHUNK_SIZE``)
    when set, else the backend's default, made smaller where that leaves fewer than
    :data:`PROGRESS_CHUNKS` chunks, down to the backend's smallest chunk (the cpu backend's
    2^24, the slice it sieves a chunk in anyway), a power of two."""
    from mimicry.search.sieve import default_chunk_size

    if configured is not None:
        return configured
    smallest = engine.chunk_candidates[0]
    wanted = max(smallest, jobs[0].candidate_count // PROGRESS_CHUNKS)
    default = min(default_chunk_size(job, engine) for job in jobs)
    return min(default, 1 << (wanted.bit_length() - 1))


class RateColumn(ProgressColumn):
    """Candidates per second so far (Rich's own speed: completed over elapsed, smoothed)."""

    def render(self, task) -> Text:
        return Text("" if task.speed is None else rate_text(task.speed))


def announce_size(jobs, engine, *, named: bool, confirmed: bool) -> Probe | None:
    """Say how long a big search will take before it starts, and refuse one given no seeds
    that would outlast ``MIMICRY_CONFIRM_SECONDS`` unless ``--yes`` says to go; the probe it
    measured with (its chunks are the search's first), or None for a small search."""
    from mimicry.search.estimate import UNPROBED_CANDIDATES, measure

    job = jobs[0]
    if job.candidate_count <= UNPROBED_CANDIDATES:
        return None
    probe = measure(jobs, engine)
    estimate = probe.estimate
    limit = command_settings().confirm_seconds
    first, last = job.candidate_range
    if estimate.seconds > limit and not named and not confirmed:
        fail(
            f"--seeds: sweeping {' and '.join(j.family for j in jobs)}'s "
            f"{job.candidate_count:,} candidates "
            f"{first:#x}..{last:#x} would take {estimate.text()}, past MIMICRY_CONFIRM_SECONDS "
            f"= {limit:g}; give --seeds LO..HI, or --yes to start it anyway"
        )
    stderr.print(f"sieve: {job.candidate_count:,} candidates, {estimate.text()}")
    return probe


def print_sieve_answer(answer: SieveAnswer, *, hex_seeds: bool = False) -> None:
    console = terminal()
    stats, job = answer.stats, answer.job
    print_table(
        f"{job.family} / {job.projection}, M = {job.modulus}, "
        f"window {job.window_start}+{job.window_size}",
        survivor_rows(answer.survivors, hex_seeds=hex_seeds),
        console,
        SURVIVOR_LAYOUT,
        SURVIVOR_COLUMNS,  # an empty table still says what it would list
    )
    console.print(
        f"{stats.candidates_tested:,} candidates, {stats.hypotheses:,} hypotheses in "
        f"{stats.seconds:.2f} s ({stats.candidates_per_second:,.0f}/s)."
    )
    console.print(markdown_text(answer.verdict))


@app.command()
def simulate(
    family: Annotated[str, typer.Option(help="Generator family.", metavar="NAME")],
    seed: Annotated[int, typer.Option(help="Seed the history is drawn from.", metavar="SEED")],
    count: Annotated[int, typer.Option(help="Draws to write.", metavar="N")] = 100,
    projection: ProjectionFlag = "mod",
    modulus: OptionalModulusFlag = None,
    skip: Annotated[
        int, typer.Option(help="Calls dropped between written draws.", metavar="CALLS")
    ] = 0,
    discard: Annotated[
        int, typer.Option(help="Calls dropped before the first draw.", metavar="CALLS")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: stdout).", metavar="FILE")
    ] = None,
) -> None:
    """Write a draw history made by a registry generator (for demos and tests)."""
    from gpu_kernels.registry import get_family, get_projection

    try:
        generator, projector = get_family(family), get_projection(projection)
    except KeyError as error:
        fail(error.args[0])
    modulus = modulus_for(projection, modulus, family)
    problem = projector.check(generator.word_bits, modulus)
    if problem:
        fail(f"--projection: {problem}")
    first, last = generator.candidate_space("seed")
    if not first <= seed <= last:
        fail(f"--seed must be in {generator.name}'s seed space {first}..{last}")
    if count < 1 or skip < 0 or discard < 0:
        fail("--count must be >= 1 and --skip, --discard >= 0")
    # Calls that write nothing are refused beyond what a search can reach (an offset or skip past
    # call 2^24 is never searched); --count is streamed, so any length is written.
    for flag, calls in (("--discard", discard), ("--skip", skip)):
        if calls > MAX_CALL:
            fail(
                f"{flag}: at most {MAX_CALL:,} calls (2^24, the farthest call a search reaches), "
                f"got {calls:,}"
            )
    words = generator.words(generator.seed(seed))
    # Each draw in the program's form (a signed int, a double), as `mimicry sieve` reads them.
    calls = (
        projector.decode(projector.draw(words, modulus, generator.word_bits)) for _ in iter(int, 1)
    )

    def lines():
        """The draws as text, one at a time: memory stays the same for any --count."""
        for _ in range(discard):
            next(calls)
        for _ in range(count):
            yield f"{next(calls)}\n"
            for _ in range(skip):
                next(calls)

    if out is None:
        sys.stdout.writelines(lines())
        return
    target = writable_output(out)
    try:
        with written_whole(target) as file:
            file.writelines(lines())
    except OSError as error:
        fail(f"--out: cannot write {out}: {error.strerror or error}")


def writable_output(out: Path) -> Path:
    """``--out`` as a file that can be written, or one sentence why not."""
    if str(out) in ("", "."):
        fail("--out: expected a file path, got an empty one")
    if out.is_dir():
        fail(f"--out: {out} is a folder; expected a file path")
    if not out.parent.is_dir():
        fail(f"--out: folder {out.parent} does not exist")
    return out


@app.command()
def bench(
    family: Annotated[
        list[str] | None,
        typer.Option(help="Family to time; repeat for several (default: all).", metavar="NAME"),
    ] = None,
    backend: Annotated[str, typer.Option(help="reference, cpu or gpu.", metavar="BACKEND")] = "cpu",
    candidates: Annotated[
        int | None, typer.Option(help="Candidates per timed run.", metavar="N")
    ] = None,
    repeats: Annotated[
        int, typer.Option(help="Timed runs; the median is reported.", metavar="N")
    ] = 3,
    prefilter: Annotated[
        bool, typer.Option(help="cpu: use the vectorised first-draw prefilters.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Candidates per second per family: window of 8 draws mod 1000, skip 0."""
    from gpu_kernels.backends import BackendUnavailable
    from gpu_kernels.registry import get_family
    from mimicry.search.bench import bench_family

    names = family or None
    for name in names or []:
        try:
            get_family(name)
        except KeyError as error:
            fail(f"--family: {error.args[0]}")
    from gpu_kernels.registry import FAMILIES
    from mimicry.settings import sieve_backend

    device = None
    if backend == "gpu":  # say which device the numbers are of
        try:
            device = sieve_backend("gpu").device
        except BackendUnavailable as error:
            fail(f"--backend: {error}")
        if not as_json:
            print(f"device: {device}", flush=True)
    rows = []
    for name in names or sorted(FAMILIES):
        try:
            result = bench_family(
                name, backend=backend, candidates=candidates, repeats=repeats, prefilter=prefilter
            )
        except BackendUnavailable as error:
            fail(f"--backend: {error}")
        row = {
            "family": result.family,
            "mode": result.mode,
            "backend": result.backend,
            "candidates": result.candidates,
            "median_per_second": result.median_rate,
            "seconds": result.seconds,
            "compile_seconds": result.compile_seconds,
            "found_truth": result.found_truth,
        }
        rows.append(row)
        if not as_json:
            runs = ", ".join(f"{seconds:.2f}" for seconds in result.seconds)
            print(
                f"{name:16} {result.mode:5} {result.median_rate / 1e6:10.2f} M/s  "
                f"({result.candidates:,} candidates, runs {runs} s, "
                f"compile {result.compile_seconds:.1f} s, truth found: {result.found_truth})",
                flush=True,
            )
    if as_json:
        print(json.dumps({"results": rows} | ({"device": device} if device else {})))


@app.command()
def families(as_json: JsonFlag = False) -> None:
    """List the generator families and projections."""
    from gpu_kernels.projections import PROJECTIONS
    from gpu_kernels.registry import ALIASES, FAMILIES

    rows = [
        {
            "name": f.name,
            "word_bits": f.word_bits,
            "seed_bits": f.seed_bits,
            "state_bits": f.state_bits,
            "state_search": f.state_search,
            "prev": f.has_prev,
            "cpu": f.numba is not None,
            "verified_against": f.verified_against,
        }
        for f in FAMILIES.values()
    ]
    projections = [
        {
            "name": p.name,
            "description": p.description,
            # The M it fixes (raw: per family, 2^word_bits), or null: it takes --modulus.
            "modulus": p.fixed_modulus,
            "word_bits": list(p.word_bits) if p.word_bits else None,
        }
        for p in sorted(PROJECTIONS.values(), key=lambda p: p.name)
    ]
    gpu = gpu_device()
    if as_json:
        print(
            json.dumps(
                {"families": rows, "aliases": ALIASES, "projections": projections, "gpu": gpu}
            )
        )
        return
    console = terminal()
    print_table("families", rows, console, FAMILY_LAYOUT)
    console.print(Text("aliases: " + ", ".join(f"{a} = {n}" for a, n in ALIASES.items())))
    print_table(
        "projections",
        [{"name": p["name"], "description": p["description"]} for p in projections],
        console,
        PROJECTION_LAYOUT,
    )
    console.print(Text(plain_text(f"gpu: {gpu['device'] or 'none: ' + gpu['unavailable']}")))


#: ``mimicry families``: the names people type stay whole; on a narrow terminal the columns that
#: say the same for every family and the provenance go first.
FAMILY_LAYOUT = Layout(
    wrap=("verified_against",),
    drop=("cpu", "prev", "verified_against", "state_bits"),
    right=("word_bits", "seed_bits", "state_bits"),
)
PROJECTION_LAYOUT = Layout(wrap=("description",))


def gpu_device() -> dict:
    """The device ``--backend gpu`` would sieve on (``device``), or why it cannot run here
    (``unavailable``)."""
    from gpu_kernels.backends import BackendUnavailable
    from mimicry.settings import sieve_backend

    try:
        return {"device": sieve_backend("gpu").device, "unavailable": None}
    except BackendUnavailable as error:
        return {"device": None, "unavailable": str(error)}
