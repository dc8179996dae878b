"""The floor: the cheapest live update Streamlit allows, for the token-to-screen benchmark.

Each network read from the model server (a batch of one or more tokens) is written at once into
one Markdown placeholder, in place of the batch before it, and the page does nothing else: no
report kept, no sanitising, no quote checks, no live figures, no worker thread. Each update costs
the same however long the answer grows, so its latency is Streamlit's transport and one browser
render. Ours is measured against it (and the tutorial baseline) in the same run, on the same
fake upstream.
"""

import json
import os

import httpx
import streamlit as st

st.title("Floor")
if st.button("Run", key="run"):
    placeholder = st.empty()
    pending = b""
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Review."}]}
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=60) as response:
        for chunk in response.iter_raw():
            *lines, pending = (pending + chunk).split(b"\n")
            added = ""
            for line in lines:
                if line.startswith(b"data: {"):
                    choices = json.loads(line[6:])["choices"]
                    added += (choices[0]["delta"].get("content") or "") if choices else ""
            if added:
                placeholder.markdown(added)
