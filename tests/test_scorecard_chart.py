"""The published ContractEval anchor is drawn on the chart of the measure it reports, and each
scorecard chart gives every row (a model's bar, a category's cells) room to be read."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.categories import CUAD_CATEGORIES
from lib.analysis.labels import LabelledSet
from lib.analysis.scorecard import ANCHORS, CONTRACTEVAL_BEST_F1, ModelRun, build_scorecard
from lib.ui.portfolio_view import heatmap, overall_chart
from tests.test_scorecard import GOVERNING, LABELS

EXACT = f"""## Clause by clause
### Governing law — GREEN
- Found: yes — "{GOVERNING}"
"""
# Says governing law is there (right) but quotes the wrong passage: presence F1 1.0, span F1 0.
OFF_SPAN = """## Clause by clause
### Governing law — GREEN
- Found: yes — "Widgets are delivered monthly."
"""


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_contracteval_line_sits_on_the_span_f1_chart_beside_each_models_span_f1():
    scored = build_scorecard(
        "span vs presence",
        LABELS,
        {
            "exact": {"c1.txt": ModelRun(EXACT), "c2.txt": ModelRun("")},
            "off span": {"c1.txt": ModelRun(OFF_SPAN), "c2.txt": ModelRun("")},
        },
    )
    spec = overall_chart(scored).to_dict()
    layers = _layers(spec)
    bars = next(layer for layer in layers if layer["mark"]["type"] == "bar")
    rule = next(
        layer
        for layer in layers
        if (layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"]) == "rule"
    )
    # The bars are CUAD span F1, the measure ContractEval's figure is: not presence F1.
    assert bars["encoding"]["x"]["title"] == "CUAD span F1"
    field = bars["encoding"]["x"]["field"]
    datasets = spec["datasets"]
    rows = datasets[bars["data"]["name"]] if "data" in bars else datasets[spec["data"]["name"]]
    plotted = {row["model"]: row[field] for row in rows}
    assert plotted == {m.model: m.spans.f1 for m in scored.models}
    assert any(m.spans.f1 != m.presence.f1 for m in scored.models)  # the fixture tells them apart
    # The reference line is the anchor, on the same axis field as the bars.
    assert rule["encoding"]["x"]["field"] == field
    anchor_rows = datasets[rule["data"]["name"]]
    assert [row[field] for row in anchor_rows] == [CONTRACTEVAL_BEST_F1]
    assert list(ANCHORS.values()) == [CONTRACTEVAL_BEST_F1]


# A row this high holds a bar, a figure or a label of the axis' font without overlap.
MIN_ROW_PX = 18


def rows_of(spec: dict) -> int:
    """How tall the chart draws each band of its y axis: a step, whatever the page's width."""
    # A fixed total height under the "fit" sizing a stretched chart gets was the whole chart's,
    # axes included: 41 category names below took it all and rows were drawn 0 px high. A step
    # height with only the width fitted keeps every row this high, its axes added around it.
    assert spec["autosize"]["type"] == "fit-x"
    height = spec["height"]
    assert isinstance(height, dict), f"a total height, not one per row: {height}"
    return int(height["step"])


@pytest.mark.parametrize("models", [1, 2, 4])
def test_each_model_and_each_of_41_categories_gets_a_row_of_its_own(models):
    """Scored on the CUAD labels, the span-F1 chart drew no visible bars with the model names on
    top of each other, and the heat map's rows had no height (its figures on one line)."""
    contract = "c.txt"
    labels = LabelledSet(
        "CUAD", CUAD_CATEGORIES, {contract: {c: [f"{c} clause."] for c in CUAD_CATEGORIES}}
    )
    card = build_scorecard(
        "41 categories",
        labels,
        {f"Model {i} · a long model name": {contract: ModelRun("")} for i in range(models)},
    )
    bars, cells = overall_chart(card).to_dict(), heatmap(card).to_dict()
    assert rows_of(bars) >= MIN_ROW_PX and rows_of(cells) >= MIN_ROW_PX
    # The rows are the models on one chart and the 41 categories on the other.
    bar = next(layer for layer in _layers(bars) if layer["mark"]["type"] == "bar")
    assert bar["encoding"]["y"]["field"] == "model"
    assert len(bars["datasets"][bar["data"]["name"]]) == models
    rect = next(layer for layer in _layers(cells) if layer["mark"]["type"] == "rect")
    assert rect["encoding"]["y"]["field"] == "category"
    shown = {row["category"] for row in cells["datasets"][cells["data"]["name"]]}
    assert len(shown) == len(CUAD_CATEGORIES) == 41
