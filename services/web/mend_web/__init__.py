"""Mend's web app: server-rendered pages (Jinja2, jinja2-fragments, htmx) that act only through
the services' APIs with the signed-in person's own token."""
