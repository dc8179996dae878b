"""Pure text analysis: no network, no Streamlit, no threads."""
