"""Talking to models: `stream_model`, the providers' wire formats, events, errors, run figures.

Depends only on `lib.analysis`; no Streamlit, no worker threads.
"""
