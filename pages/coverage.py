import streamlit as st

st.title("coverage")
