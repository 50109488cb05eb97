"""The dorasim Streamlit app's UI helpers: widgets → scenario → ``sim`` → charts.

Nothing here models anything: every number comes from ``sim``, every default from a scenario file.
"""
