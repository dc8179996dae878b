"""Pure text work: no network, no Streamlit, no threads of its own."""
