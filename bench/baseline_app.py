"""The baseline every Streamlit tutorial shows: `st.write_stream` fed straight by the openai SDK.

Kept only for the token-to-screen benchmark, which runs it beside the real app on the same upstream.
"""

import os

import streamlit as st
from openai import OpenAI

client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="baseline")
st.title("Baseline")
if st.button("Run", key="run"):
    stream = client.chat.completions.create(
        model="bench", messages=[{"role": "user", "content": "Review this contract."}], stream=True
    )
    st.write_stream(stream)
