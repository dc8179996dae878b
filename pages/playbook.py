"""Playbook page: check the contract against a playbook with the built-in checker (no model)."""

from __future__ import annotations

import streamlit as st

from lib.analysis.playbook.checker import check_playbook
from lib.ui.page import current_settings
from lib.ui.pickers import document_input
from lib.ui.playbook_view import playbook_picker, show_playbook_result, uploaded_docx

st.set_page_config(
    page_title="Playbook · Contract Review Studio", page_icon=":material/rule:", layout="wide"
)
settings = current_settings()
st.title("Playbook")
st.caption("Each position of a playbook checked against the contract, with its evidence.")
document = document_input(settings, key="playbook")
book = playbook_picker("playbook_book")
if document is not None and book is not None and st.button("Check", type="primary"):
    result = check_playbook(document.text, book, document.page_starts)
    original = uploaded_docx("playbook", document)
    show_playbook_result(result, document.text, document.name, original)
