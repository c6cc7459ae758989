"""Retry policy as data: which answers to retry, and how long to wait before the next try.

`next_delay` is a pure function (tested without sleeping); `send` runs it through tenacity.
A 429 waits its Retry-After and does not use up an attempt, but total 429 waiting is capped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx

from tagging.bounded import AnswerTooLarge
from tagging.values import ApiRequest

if TYPE_CHECKING:
    import tenacity


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # for 5xx, connection errors and timeouts
    base_delay: float = 0.5  # first backoff; doubles each failure
    max_delay: float = 30.0  # cap on one backoff
    max_retry_after: float = 60.0  # cap on one server-requested wait
    max_rate_limit_wait: float = 300.0  # total 429 waiting per request before giving up
    # A refused connection (nothing listens) is final: the first contact with a host says so
    # at once instead of retrying for a minute. Dropped connections and timeouts still retry.
    refused_is_final: bool = False


def is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


def next_delay(
    policy: RetryPolicy,
    *,
    failures: int,
    rate_limited: bool,
    retry_after: float | None,
    rate_limit_waited: float,
    rand: float,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    failures: attempts that failed with 5xx/transport errors so far (429s not counted).
    rand:     a uniform [0, 1) draw for jitter, passed in to keep this function pure.
    """
    if rate_limited:
        wait = retry_after if retry_after is not None else _backoff(policy, 1, rand)
        wait = min(max(wait, 0.0), policy.max_retry_after)
        if rate_limit_waited + wait > policy.max_rate_limit_wait:
            return None
        return wait
    if failures >= policy.max_attempts:
        return None
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.max_retry_after)
    return _backoff(policy, failures, rand)


def _backoff(policy: RetryPolicy, failures: int, rand: float) -> float:
    """Exponential backoff with "equal jitter": between half and all of the capped step."""
    step = min(policy.max_delay, policy.base_delay * 2 ** max(failures - 1, 0))
    return step * (0.5 + rand / 2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Sent:
    """The final answer to a request after retries: a response, or why there is none."""

    response: httpx.Response | None
    attempts: int
    gave_up: str = ""  # non-empty when retries ran out (API down, rate limit too long)
    refused: str = ""  # an answer we will not read (too large): final, not retried
    timed_out: bool = False  # the last failure was a timeout: the host is there, but slow


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _Attempts:
    """Per-request retry bookkeeping shared by tenacity's `wait` and `stop` hooks."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng
        self.failures = 0
        self.rate_limit_waited = 0.0
        self._decided: dict[int, float | None] = {}

    def decide(self, state: tenacity.RetryCallState) -> float | None:
        n = state.attempt_number
        if n not in self._decided:
            exc = state.outcome.exception() if state.outcome else None
            response = exc.response if isinstance(exc, _RetryableResponse) else None
            rate_limited = response is not None and response.status_code == 429
            if not rate_limited:
                self.failures += 1
            retry_after = (
                parse_retry_after(response.headers.get("Retry-After")) if response else None
            )
            delay = next_delay(
                self.policy,
                failures=self.failures,
                rate_limited=rate_limited,
                retry_after=retry_after,
                rate_limit_waited=self.rate_limit_waited,
                rand=self.rng.random(),
            )
            if rate_limited and delay is not None:
                self.rate_limit_waited += delay
            self._decided[n] = delay
        return self._decided[n]

    def wait(self, state: tenacity.RetryCallState) -> float:
        return self.decide(state) or 0.0

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self.decide(state) is None


def send(
    client: httpx.Client,
    request: ApiRequest,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Sent:
    """Send one request, retrying 429/5xx/transport errors per `policy`."""
    count = 0

    def attempt() -> httpx.Response:
        nonlocal count
        count += 1
        response = client.request(
            request.method, request.path, json=request.body, params=request.params
        )
        if is_retryable(response.status_code):
            raise _RetryableResponse(response)
        return response

    # Most requests are answered at once: only a failed first try builds the retry machinery
    # (tenacity and a seeded Random cost more CPU than a local request).
    try:
        return Sent(attempt(), count)
    except AnswerTooLarge as exc:
        return Sent(None, count, refused=str(exc))
    except httpx.ConnectError as exc:
        if policy.refused_is_final:
            return Sent(None, count, _gave_up(count, _transport_line(exc)))
        first_failure: BaseException | None = exc
    except (httpx.TransportError, _RetryableResponse) as exc:
        first_failure = exc

    def retried() -> httpx.Response:
        nonlocal first_failure
        if first_failure is not None:  # tenacity's attempt 1 is the try already made
            failure, first_failure = first_failure, None
            raise failure
        return attempt()

    import tenacity  # only a request that failed once pays for importing it (CLI start-up)

    attempts = _Attempts(policy, rng or random.Random())
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type((httpx.TransportError, _RetryableResponse)),
        wait=attempts.wait,
        stop=attempts.stop,
        sleep=sleep,
        reraise=True,
    )
    try:
        return Sent(retrying(retried), count)
    except AnswerTooLarge as exc:
        return Sent(None, count, refused=str(exc))
    except _RetryableResponse as exc:
        return Sent(exc.response, count, _gave_up(count, _status_line(exc.response)))
    except httpx.TransportError as exc:
        slow = isinstance(exc, httpx.TimeoutException)
        return Sent(None, count, _gave_up(count, _transport_line(exc)), timed_out=slow)


def _gave_up(count: int, what: str) -> str:
    return f"gave up after {count} attempt{'s' if count != 1 else ''}: {what}"


def _status_line(response: httpx.Response) -> str:
    text = response.text if response.content else ""
    excerpt = " ".join(text.split())[:120]
    return f"HTTP {response.status_code}" + (f" {excerpt}" if excerpt else "")


def _transport_line(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the API did not answer in time"
    return f"cannot reach the API ({type(exc).__name__})"
