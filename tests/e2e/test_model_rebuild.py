"""`make model` is reproducible: retrained from the committed corpus, the reader is the committed
one (minutes of training, so it runs with the end-to-end tests, not the unit tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from rapport.reasons.classifier import ReasonClassifier
from rapport.reasons.evaluation import LabelledCase
from rapport.reasons.learned import load_reader, packaged_model_bytes
from rapport.reasons.rules import default_rules
from tests.support.reader_model import model_parts
from training import train

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_model_is_what_make_model_produces(tmp_path: Path) -> None:
    """Retrained from the committed corpus as `make model` does, the model is the committed one.

    Here the bytes are identical; the comparison is as a model so that it also holds on a CPU
    whose SIMD float sums differ in their last bits (lbfgs then stops on a slightly different
    path: a weight may move by one int8 step). A model of another corpus differs everywhere.
    """
    committed = packaged_model_bytes()
    out = tmp_path / "reader.bin"
    subprocess.run(
        [sys.executable, "-m", "training.train", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=True,
        capture_output=True,
    )
    rebuilt = out.read_bytes()
    (old_header, old_words, old_weights), (new_header, new_words, new_weights) = (
        model_parts(committed),
        model_parts(rebuilt),
    )
    assert new_words == old_words, "reader.bin is stale (another vocabulary): run make model"
    for head in ("reasons", "languages"):
        assert new_header[head]["labels"] == old_header[head]["labels"]
        for key in ("biases", "scales"):
            assert numpy.allclose(
                new_header[head][key], old_header[head][key], rtol=1e-3, atol=1e-3
            )
    steps = numpy.abs(new_weights.astype(numpy.int16) - old_weights.astype(numpy.int16))
    assert steps.max() <= 1
    assert (steps > 0).mean() < 0.01
    for key in ("rule_trust", "model_min", "coverage_min"):
        assert new_header["settings"][key] == pytest.approx(old_header["settings"][key])
    rules = default_rules()
    old_reader = ReasonClassifier(rules, load_reader(committed, rules.lexicon.symbols))
    new_reader = ReasonClassifier(rules, load_reader(rebuilt, rules.lexicon.symbols))
    cases = [LabelledCase.model_validate_json(json.dumps(case)) for case in train.load_split("dev")]
    pairs = [
        (
            old_reader.classify(c.note, c.request, c.outcome),
            new_reader.classify(c.note, c.request, c.outcome),
        )
        for c in cases
    ]
    same_reason = sum(old.primary_reason == new.primary_reason for old, new in pairs)
    assert same_reason >= 0.995 * len(pairs)
    close = sum(abs((old.confidence or 0) - (new.confidence or 0)) <= 0.05 for old, new in pairs)
    assert close >= 0.99 * len(pairs)
