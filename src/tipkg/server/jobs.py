"""Answering a query job for a request: from the result cache, else from a query worker.

The SPARQL endpoint and the query editor both come here, so every limit applies to both. A
finished answer is cached under the build's version (a build never changes) and the job. A
worker that runs out of time or dies, a pool that stays busy and the client's own mistakes all
come out as an :class:`~tipkg.server.errors.HttpError`.
"""

from __future__ import annotations

from starlette.requests import Request

from tipkg.server.errors import HttpError, InternalError, ServiceUnavailable
from tipkg.server.evaluation import QueryAnswer, QueryJob
from tipkg.server.published import Published
from tipkg.server.querypool import (
    PoolBusy,
    QueryPool,
    QueryTimeout,
    ResultCache,
    WorkerDied,
    WorkerFailed,
)


async def answer(request: Request, published: Published, job: QueryJob) -> QueryAnswer:
    """The answer to ``job`` on this build; a refusal or a failure raises ``HttpError``."""
    cache: ResultCache = request.app.state.result_cache
    key = (published.version, job)
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = await _run(request.app.state.query_pool, published, job)
    if isinstance(result, HttpError):
        raise result
    graphs = (*(job.default_graphs or ()), *(job.named_graphs or ()))
    cache.put(key, result, len(result.body) + len(job.query) + sum(map(len, graphs)))
    return result


async def _run(pool: QueryPool, published: Published, job: QueryJob) -> QueryAnswer | HttpError:
    timeout = published.settings.query_timeout
    try:
        return await pool.run((published.version, published.dist_dir), job)
    except QueryTimeout:
        raise ServiceUnavailable(
            f"query stopped: it ran longer than {timeout:g} s (query_timeout); "
            "narrow it with more selective patterns or a LIMIT"
        ) from None
    except PoolBusy:
        raise ServiceUnavailable(
            f"all {pool.size} query workers stayed busy for {timeout:g} s; try again shortly",
            {"Retry-After": "1"},
        ) from None
    except WorkerDied:
        # Only this request is answered so: the worker is replaced and others never noticed.
        raise ServiceUnavailable(
            "the query worker stopped while evaluating this query (too large or too deeply "
            "nested for this server?); it has been replaced"
        ) from None
    except WorkerFailed as error:
        raise InternalError(f"the query could not be evaluated: {error}") from None
