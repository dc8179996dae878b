"""Text in, facts out: documents, prompts, the clause finder, grounding and scoring.

The bottom layer: no network, no threads, no Streamlit — everything here is a pure function of
the text it is given, so it can be tested and benchmarked directly.
"""
