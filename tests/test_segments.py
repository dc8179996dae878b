from hypothesis import given, settings
from hypothesis import strategies as st

from lib.ui.segments import HARD_LIMIT, SOFT_LIMIT, SegmentedText


def run(batches: list[str]) -> list[str]:
    text = SegmentedText()
    segments = [frozen for batch in batches if (frozen := text.add(batch)) is not None]
    return [*segments, text.live] if text.live else segments


REPORT = "\n\n".join(
    f"### Clause {i} — GREEN\n- Found: yes — clause {i}.{i} " + "word " * 60 for i in range(60)
)


@settings(max_examples=50, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(REPORT)), max_size=300))
def test_segments_rebuild_the_text_for_any_batching(cuts):
    points = sorted(set(cuts))
    batches = [
        REPORT[a:b] for a, b in zip([0, *points], [*points, len(REPORT)], strict=True) if b > a
    ]
    segments = run(batches)
    assert "".join(segments) == REPORT
    assert len(segments) > 1
    for segment in segments[:-1]:
        assert segment.endswith("\n\n")  # cut at Markdown block boundaries
        assert len(segment) < SOFT_LIMIT + max(len(b) for b in batches) + 1


def test_text_without_blank_lines_is_cut_at_whitespace_when_far_too_long():
    text = "t00001 " * 5_000
    segments = run([text[i : i + 50] for i in range(0, len(text), 50)])
    assert "".join(segments) == text
    assert all(len(s) <= HARD_LIMIT + 50 for s in segments)
    assert all(s.endswith(" ") for s in segments[:-1])


def test_never_cuts_inside_a_code_fence():
    text = "intro\n\n```\n" + "code line\n\n" * 400 + "```\n\nafter " * 3
    segments = run([text[i : i + 30] for i in range(0, len(text), 30)])
    assert "".join(segments) == text
    assert all(s.count("```") % 2 == 0 for s in segments)


def test_empty_stream():
    assert run([]) == []


def test_frozen_segments_end_at_block_boundaries():
    text = SegmentedText()
    frozen = [
        done
        for i in range(0, len(REPORT), 37)
        if (done := text.add(REPORT[i : i + 37])) is not None
    ]
    assert "".join(frozen) + text.live == REPORT
    assert frozen and all(s.endswith("\n\n") for s in frozen)
