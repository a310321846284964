"""benchmarks/claims_by_seed.py reads its verdicts off the Compare tab's own line (analysis.claims_line): it once
judged the figures itself and printed "about the same" for the riders of f03570 and f03690, which the app does not
judge (both networks call most of the label's riders something else)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from conftest import load_benchmark_script
from segdemo import analysis
from segdemo.classes import CAMVID_CLASSES
from segdemo.uncertainty import boundary_uncertainty
from segdemo.uncertainty import entropy as entropy_of

ROAD, SKY = CAMVID_CLASSES.index("Road"), CAMVID_CLASSES.index("Sky")


@pytest.fixture(scope="module")
def claims_by_seed():
    return load_benchmark_script("claims_by_seed")


def prediction(labels: torch.Tensor) -> SimpleNamespace:
    """A stand-in for a Prediction as claims_line reads it, sure of its labels."""
    probabilities = torch.nn.functional.one_hot(labels, len(CAMVID_CLASSES)).permute(2, 0, 1).float()
    probabilities = 0.9 * probabilities + 0.1 / len(CAMVID_CLASSES)
    entropy = entropy_of(probabilities)
    return SimpleNamespace(labels=labels, probabilities=probabilities, entropy=entropy,
                           boundary=boundary_uncertainty(entropy / torch.log(torch.tensor(11.0)), labels))


def halves() -> torch.Tensor:
    labels = torch.full((60, 60), ROAD, dtype=torch.long)
    labels[:, 30:] = SKY
    return labels


def test_riders_neither_network_finds_are_not_judged_as_in_the_app(claims_by_seed):
    truth = halves()
    truth[10:30, 10:20] = analysis.BICYCLIST
    fcn = segnet = prediction(halves())   # Road there: no rider called
    line = analysis.claims_line(fcn, segnet, truth)
    assert "it mixes Pedestrian and Bicyclist more: not judged" in line, line
    assert claims_by_seed.verdicts(line) == {"detail": "=", "thin": "=", "band": "=", "riders": "-"}


def test_every_claim_is_read_with_the_label_and_without(claims_by_seed):
    line = analysis.claims_line(prediction(halves()), prediction(halves()))
    marks = claims_by_seed.verdicts(line)
    assert set(marks) == {"detail", "thin", "band", "riders"} and marks["band"] == "=", (marks, line)
    sky = halves()
    sky[:] = SKY
    assert claims_by_seed.verdicts(analysis.claims_line(prediction(halves()), prediction(sky))) == dict.fromkeys(
        marks, "-")   # the networks disagree on half of it: no claim is judged


def test_a_claim_worded_otherwise_is_an_error_not_a_silent_mark(claims_by_seed):
    with pytest.raises(ValueError, match="riders"):
        claims_by_seed.verdicts("**The claims on this picture:** SegNet's boundaries are more accurate: holds (x); "
                                "it finds thin structures better: holds (x); it is less sure where boundaries lie: "
                                "holds (x).")
