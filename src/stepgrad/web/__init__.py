"""The browser explorer behind `stepgrad serve`: a Starlette app (app.py), its JSON API (api.py)
and a static page (static/: plain HTML, CSS and JavaScript modules, no build step).

May import: stepgrad.formats, stepgrad.pictures, stepgrad.tracing, stepgrad.training, stepgrad.core.
"""
