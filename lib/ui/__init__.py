"""Streamlit widgets: the only modules that import Streamlit. Pages lay these out."""
