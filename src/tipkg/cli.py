"""The ``tipkg`` command: parses options, calls a pipeline stage, prints. No RDF logic here.

Stages are imported inside the commands so that ``tipkg --help`` stays fast.
User errors (``TipkgError``) become one line on stderr and exit status 2 (bad input) or 1
(validation failed); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tipkg.errors import TipkgError
from tipkg.settings import SETTINGS, SETTINGS_BY_NAME, Setting, Settings

if TYPE_CHECKING:
    from tipkg.build import Assembly
    from tipkg.graph import KnowledgeGraph
    from tipkg.project import Project


class LazyChoice(click.Choice):
    """A choice among names a stage declares, read when first needed: the stages import the
    RDF stack, which ``tipkg --help`` must not load just to list them."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self.case_sensitive = True

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self._load())


def _dump_names() -> Iterable[str]:
    from tipkg.dist import DUMP_FORMATS

    return DUMP_FORMATS


def _search_kinds() -> Iterable[str]:
    from tipkg.search.model import KINDS

    return KINDS


def _query_output_names() -> Iterable[str]:
    from tipkg.query import FORMATS

    return FORMATS


# Settings every command uses, given before the command (`tipkg --base-iri URL build`); those
# of `tipkg publish`; the others belong to `tipkg serve`. Secrets have no option at all.
GROUP_SETTINGS = ("base_iri", "build_jobs", "cache_dir")
PUBLISH_SETTINGS = (
    "publish_connections",
    "publish_timeout",
    "publish_retries",
    "publish_backoff",
    "publish_retry_seconds",
)
F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command needs: the project directory and resolved settings."""

    def __init__(self, project_dir: Path, overrides: dict[str, Any]) -> None:
        self.project_dir = project_dir
        self.overrides = overrides
        self.settings = Settings.load(overrides)

    def project(self) -> Project:
        from tipkg.project import load_project

        return load_project(self.project_dir)

    def graph(self, project: Project) -> KnowledgeGraph:
        from tipkg.pipeline import assemble

        return assemble(project, self.settings).knowledge_graph()


class SettingType(click.ParamType):
    """Reads an option's text as the setting reads it from the environment, so both agree."""

    def __init__(self, declared: Setting) -> None:
        self.declared = declared
        self.name = "list" if declared.kind is tuple else "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.declared.parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def setting_option(declared: Setting) -> Callable[[F], F]:
    """The option of one setting, typed by its default: a boolean is a flag pair
    (``--federation/--no-federation``), numbers are INTEGER or FLOAT, a tuple is a comma list.
    Unset options are ``None``, so only what was given overrides the environment."""
    help_text = f"{declared.description} [default: {declared.default!r}; env {declared.env_var}]"
    if declared.kind is bool:
        flags = f"{declared.option}/--no-{declared.option.removeprefix('--')}"
        return click.option(flags, declared.name, default=None, help=help_text)
    kinds: dict[type, click.ParamType] = {int: click.INT, float: click.FLOAT}
    option_type = kinds.get(declared.kind) or SettingType(declared)
    return click.option(
        declared.option, declared.name, type=option_type, default=None, help=help_text
    )


def setting_options(names: Iterable[str]) -> Callable[[F], F]:
    """One option per named setting, in the registry's order; none for a secret."""

    def decorate(command: F) -> F:
        wanted = set(names)
        for declared in reversed([s for s in SETTINGS if s.name in wanted and not s.secret]):
            command = setting_option(declared)(command)
        return command

    return decorate


# A directory option's type (which need not exist yet).
DIRECTORY = click.Path(file_okay=False, path_type=Path)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a user error into its one-line message and exit code, with no traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TipkgError as error:
            click.echo(f"tipkg: error: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--project",
    "project_dir",
    type=DIRECTORY,
    default=Path("."),
    show_default=True,
    help="Project directory holding ontology/, shapes/, data/ and queries/.",
)
@setting_options(GROUP_SETTINGS)
@click.version_option(package_name="tipkg")
@click.pass_context
@reports_errors
def main(ctx: click.Context, project_dir: Path, **overrides: Any) -> None:
    """Build, check, query and publish the trafficking-in-persons knowledge graph.

    \b
    Example:
      tipkg build                 # assemble, validate, write dist/
      tipkg query tipcom-members  # a query from queries/, by name
      tipkg serve                 # http://127.0.0.1:8080/
    """
    ctx.obj = Context(project_dir, overrides)


def command(function: Callable[..., None]) -> click.Command:
    """A ``tipkg`` subcommand: it is handed the :class:`Context`, and a user error becomes one
    line and an exit status (see :func:`reports_errors`)."""
    return main.command()(click.pass_obj(reports_errors(function)))


def _validated(context: Context) -> Assembly:
    from tipkg.pipeline import check_project
    from tipkg.validate import raise_for

    checked = check_project(context.project(), context.settings)
    raise_for(checked.report)
    return checked.assembly


class TerminalProgress:
    """A one-line counter of assembled units on a terminal; silent when stderr is not one."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or (done % 50 and done != total):
            return
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        click.echo(f"\r  units [{bar}] {done:,}/{total:,}", err=True, nl=False)
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            click.echo("", err=True)


@command
@click.option(
    "--out",
    type=DIRECTORY,
    default=None,
    help="Output directory [default: PROJECT/dist].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress counter, only the result.")
@click.option("--timings", is_flag=True, help="Also print each stage's seconds and peak memory.")
def build(context: Context, out: Path | None, quiet: bool, timings: bool) -> None:
    """Assemble the graph, validate it, and write every dump to dist/.

    Only reports (and shared files) changed since the last build are assembled again, on
    every CPU core; nothing is written unless validation passes; dist/ is replaced in one step,
    and left as it is when it already holds the build of the same inputs.

    \b
    Example:
      tipkg build
      tipkg --project . build --out ../dist-copy --quiet
    """
    from tipkg.pipeline import build as run_build
    from tipkg.timings import Timings

    started = time.perf_counter()
    project = context.project()
    out_dir = out or project.root / "dist"
    progress = TerminalProgress(quiet)
    stages = Timings() if timings else None
    try:
        assembly, manifest, written = run_build(
            project, context.settings, out_dir, progress, stages
        )
    finally:
        progress.finish()
    click.echo(f"built {manifest.triples} triples in {len(manifest.graphs)} named graphs")
    if written:
        click.echo(f"wrote {out_dir}/")
    else:
        click.echo(f"{out_dir}/ already holds the build of these inputs: left as it is")
    for published in manifest.files:
        click.echo(
            f"  {published.name:<18} {published.bytes:>9,} bytes  sha256 {published.sha256[:16]}…"
        )
    if stages is not None:
        click.echo(stages.table())
    click.echo(f"{assembly.summary()}; done in {time.perf_counter() - started:.2f} s")


def dist_option(help_text: str = "Directory written by `tipkg build`") -> Callable[[Any], Any]:
    """``--dist``: where a command reads a build from."""
    return click.option(
        "--dist",
        "dist_dir",
        type=DIRECTORY,
        default=None,
        help=f"{help_text} [default: PROJECT/dist].",
    )


def engine_option(engines: tuple[str, ...], help_text: str) -> Callable[[Any], Any]:
    """``--engine``, choosing among ``engines`` (the first by default)."""
    return click.option(
        "--engine",
        type=click.Choice(engines),
        default=engines[0],
        show_default=True,
        help=help_text,
    )


# How validate and stats print: for a person, or for a program.
text_or_json = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@command
@text_or_json
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) on any sentence that no fact cites, and list them.",
)
@engine_option(
    ("tipkg", "pyshacl"),
    "SHACL engine: tipkg's own, or pyshacl (the reference; same findings, much slower).",
)
def validate(context: Context, fmt: str, strict: bool, engine: str) -> None:
    """Check the assembled graph against the SHACL shapes in shapes/.

    Prints every finding (focus node by label, path, message, severity) and exits 1 on
    violations; then, per report, how many of its sentences no fact cites (directly, or through
    a quoted phrase in it).

    \b
    Example:
      tipkg validate
      tipkg validate --format json
      tipkg validate --engine pyshacl   # cross-check with the reference engine
      tipkg --project corpus validate --strict   # a project whose every sentence is cited
    """
    import json

    from tipkg.pipeline import check_project

    project = context.project()
    checked = check_project(project, context.settings, engine=engine)
    report, coverage = checked.report, checked.coverage
    uncited = [line for report_coverage in coverage for line in report_coverage.uncited_lines()]
    if fmt == "json":
        document = {**report.to_dict(), "coverage": [c.to_dict() for c in coverage]}
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        if report.results:
            click.echo(report.format_text())
        click.echo(
            f"{report.summary().split('; first:')[0]}: {report.triples} triples checked "
            f"against {len(project.shape_files)} shape files"
        )
        for report_coverage in coverage:
            click.echo(report_coverage.line())
        if strict:
            for line in uncited:
                click.echo(line)
    if not report.conforms or (strict and uncited):
        sys.exit(1)


@command
@click.argument("spec")
@click.option(
    "--format", "fmt", type=LazyChoice(_query_output_names), default="table", show_default=True
)
@engine_option(("oxigraph", "rdflib"), "Query engine.")
def query(context: Context, spec: str, fmt: str, engine: str) -> None:
    """Run a SPARQL query over the union of all graphs.

    SPEC is a .rq file, the name of a query in queries/, or the query text itself.

    \b
    Example:
      tipkg query tipcom-members
      tipkg query queries/provenance-argentina-host.rq --format csv
      tipkg query 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }'
      tipkg query 'SELECT ?meeting ?date WHERE { ?meeting a tip:Meeting ; schema:startDate ?date }'
    """
    from tipkg import query as queries

    project = context.project()
    resolved = queries.resolve(spec, queries.load_queries(project.query_files))
    text = resolved if isinstance(resolved, str) else resolved.text
    kg = context.graph(project)
    prefixes = {name: str(ns) for name, ns in kg.iris.prefixes().items()}
    if engine == "rdflib":
        result = queries.run_rdflib(kg.query_dataset, text, kg.iris.base, prefixes)
    else:
        result = queries.run_oxigraph(kg.store(), text, kg.iris.base, prefixes)
    click.echo(queries.format_result(result, fmt, prefixes), nl=False)


@command
@click.option("--format", "fmt", type=LazyChoice(_dump_names), default="ttl", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def export(context: Context, fmt: str, output: Path | None) -> None:
    """Print the validated graph in one serialisation (the same bytes as the dist/ dump).

    \b
    Example:
      tipkg export --format jsonld -o tipkg.jsonld
      tipkg export --format nq | gzip > tipkg.nq.gz
    """
    from tipkg.publish import write_dump

    assembly = _validated(context)
    if output is None:
        write_dump(assembly, fmt, click.get_binary_stream("stdout"))
        return
    with output.open("wb") as out:
        write_dump(assembly, fmt, out)
    click.echo(f"wrote {output} ({output.stat().st_size:,} bytes)", err=True)


@command
@text_or_json
def stats(context: Context, fmt: str) -> None:
    """Count triples per graph, entities per class and links per external dataset.

    \b
    Example:
      tipkg stats
      tipkg stats --format json
    """
    import json
    from dataclasses import asdict

    from tipkg.describe import statistics
    from tipkg.pipeline import assemble

    assembly = assemble(context.project(), context.settings)
    kg = assembly.knowledge_graph()
    counts = statistics(kg.store(), kg.iris, assembly.triples_per_graph())
    if fmt == "json":
        click.echo(json.dumps(asdict(counts), indent=2))
        return
    click.echo(f"triples: {counts.triples}")
    click.echo("triples per graph:")
    for graph, count in counts.triples_per_graph.items():
        click.echo(f"  {count:>6}  {graph}")
    click.echo("entities per class:")
    for cls, count in counts.entities_per_class.items():
        click.echo(f"  {count:>6}  {cls}")
    click.echo("links per target:")
    for target, count in counts.links_per_target.items():
        click.echo(f"  {count:>6}  {target}")


@command
@click.option(
    "--documents",
    type=click.IntRange(min=1),
    required=True,
    help="Number of synthetic reports to write.",
)
@click.option(
    "--out",
    type=DIRECTORY,
    required=True,
    help="Directory for the new project (absent or empty).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--plant-violations",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Plant this many known shape violations and list them in OUT/planted.json.",
)
def synth(context: Context, documents: int, out: Path, seed: int, plant_violations: int) -> None:
    """Write a synthetic project of realistic reports, for tests and benchmarks.

    Ontology, shapes and queries are copied from --project; data/ is generated, with every IRI
    written under the base IRI in effect (build the corpus with the same --base-iri).

    \b
    Example:
      tipkg synth --documents 5 --out corpus --seed 7
      tipkg --project corpus validate
    """
    from tipkg.synth import write_corpus

    project_root = context.project().root
    base_iri = context.settings.base_iri
    summary = write_corpus(out, documents, seed, project_root, base_iri, plant_violations)
    click.echo(summary.line())


@command
@click.argument("text")
@click.option(
    "--kind",
    "kinds",
    type=LazyChoice(_search_kinds),
    multiple=True,
    help="Only hits of this kind (repeat for several).",
)
@click.option("--document", default=None, help="Only hits from this report (its slug).")
@click.option("--year", type=int, default=None, help="Only hits about this year.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@text_or_json
@dist_option()
def search(
    context: Context,
    text: str,
    kinds: tuple[str, ...],
    document: str | None,
    year: int | None,
    limit: int,
    fmt: str,
    dist_dir: Path | None,
) -> None:
    """Search the build's full-text index: names, descriptions, notes and report sentences.

    TEXT is words (all must match), prefix* words, "quoted phrases", and AND, OR, NOT
    (a NOT b) with parentheses. Hits are ranked by BM25; matches are shown [like this].

    \b
    Example:
      tipkg search Haiti
      tipkg search '"victim protection"' --kind sentence --kind concept
      tipkg search 'traffick* NOT labour' --document saint-lucia-tip-meetings-2021 --format json
    """
    import json

    from tipkg.dist import SEARCH_INDEX_DIR
    from tipkg.search.engine import search as run_search

    index_path = (dist_dir or context.project_dir / "dist") / SEARCH_INDEX_DIR
    result = run_search(index_path, text, kinds=kinds, document=document, year=year, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(result.format_text())


@command
@dist_option()
@setting_options(
    tuple(name for name in SETTINGS_BY_NAME if name not in (*GROUP_SETTINGS, *PUBLISH_SETTINGS))
)
def serve(context: Context, dist_dir: Path | None, **overrides: Any) -> None:
    """Serve dist/ read-only: SPARQL endpoint, resource pages, dumps.

    IRIs are served under the base IRI the build was made with; build with the URL you serve
    at (`tipkg --base-iri URL build`) for them to dereference from this server.

    \b
    Example:
      tipkg serve
      tipkg --base-iri http://127.0.0.1:8088/ build -q && tipkg serve --port 8088 --query-timeout 5
      tipkg serve --federation --federation-allow https://query.wikidata.org/sparql
    """
    from tipkg.server.app import run

    settings = Settings.load({**context.overrides, **overrides})
    run(settings, dist_dir or context.project_dir / "dist")


@command
@click.option(
    "--report",
    "slug",
    default=None,
    help="Only this report [default: every report whose source.txt changed].",
)
@dist_option("The last build, whose texts the citations were written against")
def reanchor(context: Context, slug: str | None, dist_dir: Path | None) -> None:
    """Move cited phrases and sentences to where they are in a corrected source.txt.

    Run it after editing a report's text and before building. Every phrase IRI
    (#char=B,E) is found again by its nif:anchorOf (by the text around it where it occurs more
    than once) and every sentence IRI goes to the sentence its text went to; only those IRIs
    change in the report's Turtle files. A file citing something no longer in the text is left
    as it was, and the command exits 1.

    \b
    Example:
      tipkg reanchor
      tipkg reanchor --report saint-lucia-tip-meetings-2021
    """
    from tipkg.reanchor import reanchor as run_reanchor

    project = context.project()
    results = run_reanchor(project, context.settings, dist_dir or project.root / "dist", slug)
    for result in results:
        for line in result.lines():
            click.echo(line)
    if any(result.failed for result in results):
        sys.exit(1)


@command
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--slug",
    required=True,
    help="The report's name in IRIs and in data/reports/ (lower-case letters, digits, hyphens).",
)
def add_report(context: Context, source: Path, slug: str) -> None:
    """Start a new report: data/reports/SLUG/ with SOURCE's text and skeletons to fill.

    source.txt is SOURCE's bytes, unchanged. document.ttl and facts.ttl hold prefixes and
    comments only (the project builds at once): per sentence, its number, offsets and text,
    the entities data/shared/ and the other reports already name in it (each with a phrase IRI
    and anchor to cite) and capitalised names no file knows, candidates for data/shared/.

    \b
    Example:
      tipkg add-report data/reports/saint-lucia-tip-meetings-2021/source.txt --slug draft
    """
    from tipkg.curate import add_report as run_add_report
    from tipkg.errors import display_path
    from tipkg.vocab import Iris

    created = run_add_report(context.project(), Iris(context.settings.base_iri), source, slug)
    text = created.source
    click.echo(f"created {display_path(created.folder)}/")
    click.echo(
        f"  source.txt    {len(text.text.encode('utf-8')):,} bytes, copied verbatim: "
        f"{len(text.sentences)} sentences"
    )
    click.echo("  document.ttl  a template for the title and language")
    click.echo(
        f"  facts.ttl     per sentence: offsets, text, {created.known} mentions of known "
        f"entities, {created.candidates} candidate names for data/shared/"
    )
    click.echo("next: fill in document.ttl and facts.ttl, then `tipkg build`")


@command
@click.option(
    "--endpoint",
    required=True,
    help="The store's SPARQL 1.1 Graph Store HTTP Protocol endpoint "
    "(Oxigraph: http://HOST:7878/store).",
)
@click.option(
    "--query-endpoint",
    default=None,
    help="The store's SPARQL query endpoint [default: the endpoint's sibling `query`, "
    "right for Oxigraph and Fuseki].",
)
@dist_option()
@click.option("--quiet", "-q", is_flag=True, help="No line per graph, only the result.")
@setting_options(PUBLISH_SETTINGS)
def publish(
    context: Context,
    endpoint: str,
    query_endpoint: str | None,
    dist_dir: Path | None,
    quiet: bool,
    **overrides: Any,
) -> None:
    """Send a build into a triple store: one PUT per named graph, only the graphs that changed.

    The store keeps a record of what it holds (graph <base>graph/publication), so a second run
    sends only what differs, deletes graphs the build no longer has, and resumes a run that
    failed part-way. Every graph sent is then counted by SPARQL. Credentials come from the
    environment: TIPKG_PUBLISH_USER and TIPKG_PUBLISH_PASSWORD, or TIPKG_PUBLISH_TOKEN.

    \b
    Example:
      tipkg publish --endpoint http://127.0.0.1:7878/store
      tipkg publish --endpoint http://127.0.0.1:7878/store --publish-connections 2 --quiet
    """
    from tipkg.remote import Remote
    from tipkg.remote import publish as send

    settings = Settings.load({**context.overrides, **overrides})
    remote = Remote.from_settings(endpoint, query_endpoint, settings)

    def show(action: str, iri: str, triples: int) -> None:
        click.echo(f"  {action:<7} {iri}  {triples:,} triples", err=True)

    verbose = not quiet and sys.stderr.isatty()
    outcome = send(dist_dir or context.project_dir / "dist", remote, show if verbose else None)
    click.echo(outcome.summary())
