"""Load a function's handler the way Lambda does: its code directory, its environment, a context."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from rapport_cli.local.call_log import CallLog
from rapport_cli.local.server import patched_environ
from rapport_cli.local.stack import LocalFunction

Handler = Callable[[dict[str, Any], Any], Any]
_SERVICE = "POWERTOOLS_SERVICE_NAME"


@dataclass
class LocalContext:
    """The attributes of a Lambda context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Always a fresh 30 s: local invocations have no deadline, so a handler's time reserve
        never triggers here (tests that need it pass their own context)."""
        return 30_000


def load_module(code_dir: Path, handler: str, module_alias: str) -> ModuleType:
    """Import the handler's module, ``<code_dir>/<module>.py``, under a unique name (every
    function has an ``app.py``)."""
    module_name = handler.rsplit(".", 1)[0]
    path = code_dir / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(module_alias, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load handler module {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_handler(code_dir: Path, handler: str, module_alias: str) -> Handler:
    function: Handler = getattr(
        load_module(code_dir, handler, module_alias), handler.rsplit(".", 1)[1]
    )
    return function


class FunctionHost:
    """Runs the stack's functions in this process as Lambda would run each in its own container:
    the handler module imported once under the function's environment, every invocation with
    that environment, and everything the functions print (structured logs, EMF metrics, library
    warnings, which Lambda's stderr sends to the same place) written to one log stream."""

    def __init__(
        self, functions: Mapping[str, LocalFunction], log: TextIO, calls: CallLog | None = None
    ) -> None:
        self._functions = functions
        self._log = log
        self._calls = calls or CallLog()
        self._handlers: dict[str, Handler] = {}

    def _run(self, logical_id: str, call: Callable[[], Any]) -> Any:
        function = self._functions[logical_id]
        self._calls.current = logical_id
        with (
            patched_environ(function.environment),
            contextlib.redirect_stdout(self._log),
            warnings.catch_warnings(),
        ):
            warnings.showwarning = self._log_warning
            # A logger made by an earlier run in this process may hold that run's closed stream
            # (setStream would try to flush it), so the stream is swapped directly.
            for handler in logging.getLogger(function.environment.get(_SERVICE, "")).handlers:
                if isinstance(handler, logging.StreamHandler):
                    with handler.lock or contextlib.nullcontext():
                        handler.stream = self._log
            try:
                return call()
            finally:
                self._calls.current = None

    def _log_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.showwarning`` while a function runs: into its log, not the terminal."""
        (file or self._log).write(warnings.formatwarning(message, category, filename, lineno, line))

    def handler(self, logical_id: str) -> Handler:
        """The function's handler, imported on first use (a cold start)."""
        if logical_id not in self._handlers:
            function = self._functions[logical_id]
            self._handlers[logical_id] = self._run(
                logical_id,
                lambda: load_handler(
                    function.code_dir, function.handler, f"rapport_fn_{logical_id}_{id(self)}"
                ),
            )
        return lambda event, context: self._run(
            logical_id, lambda: self._handlers[logical_id](event, context)
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.handler(logical_id)(event, LocalContext(function_name=logical_id))
