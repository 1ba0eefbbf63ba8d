"""The parts of an exported reader model (``shared/rapport/reasons/reader.bin``), for tests that
compare two models as models rather than as bytes."""

from __future__ import annotations

import json
from typing import Any

import numpy


def model_parts(blob: bytes) -> tuple[dict[str, Any], list[str], Any]:
    """The JSON header, the vocabulary and the int8 weights."""
    header_end = blob.index(b"\n")
    header = json.loads(blob[:header_end])
    vocabulary_end = header_end + 1 + header["vocabulary_bytes"]
    vocabulary = blob[header_end + 1 : vocabulary_end].decode("utf-8").split("\n")
    return header, vocabulary, numpy.frombuffer(blob[vocabulary_end:], dtype=numpy.int8)
