"""The web portal: server-rendered pages (Jinja2) over the same API, Chinese by default, English on request."""
