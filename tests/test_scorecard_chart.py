"""The published ContractEval anchor is drawn on the chart of the measure it reports."""

from __future__ import annotations

from lib.analysis.scorecard import ANCHORS, CONTRACTEVAL_BEST_F1, ModelRun, build_scorecard
from lib.ui.portfolio_view import overall_chart
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
